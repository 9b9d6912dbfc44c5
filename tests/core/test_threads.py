"""fit(n_jobs=None): OpenMP gets one thread where a second would only wait (small tables, or a
machine whose cores other processes keep busy)."""

from threadpoolctl import threadpool_info

from automl import threads


def _openmp_threads(api: str = "openmp") -> set[int]:
    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == api}


def test_openmp_gets_one_thread_on_a_busy_machine(monkeypatch):
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)

    cores = threads.available_cores()
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (cores + 5.0, 0.0, 0.0))
    with threads.limit(None, 1_000_000):
        assert _openmp_threads() == {1}
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    before = _openmp_threads()
    with threads.limit(None, 1_000_000):
        assert _openmp_threads() == before  # the libraries' own setting, left as it was
    with threads.limit(None, 500):  # a small table: one thread whatever the load
        assert _openmp_threads() == {1}


def test_each_fit_checks_the_load_again_when_the_cores_were_left_to_automl(monkeypatch):
    """A machine that becomes busy during a search: the fits that start then get one OpenMP
    and BLAS thread (``one_if_busy``, around every scikit-learn fit); a fit given ``n_jobs``
    keeps its cores, and outside a fit nothing is changed."""
    import sklearn.ensemble  # noqa: F401

    cores = threads.available_cores()
    load = [0.0]
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (load[0], 0.0, 0.0))
    before = _openmp_threads()
    with threads.limit(None, 1_000_000):  # idle when the fit starts
        with threads.one_if_busy():
            assert _openmp_threads() == before
        load[0] = cores + 5.0  # busy now
        with threads.one_if_busy():
            assert _openmp_threads() == {1} and _openmp_threads("blas") == {1}
        assert _openmp_threads() == before
    with threads.limit(cores, 1_000_000), threads.one_if_busy():  # n_jobs given
        assert _openmp_threads() == {cores}
    with threads.one_if_busy():  # no fit around it
        assert _openmp_threads() == before


def test_blas_gets_one_thread_where_openmp_does(monkeypatch):
    """OpenBLAS's threads wait as OpenMP's do (L-BFGS on 600 texts: 0.82 s with two at load
    7.5, 0.11 s with one): one BLAS thread on a small table or a busy machine."""
    import scipy.linalg  # noqa: F401  (loads the BLAS)

    assert _openmp_threads("blas"), "no BLAS library found to limit"
    cores = threads.available_cores()
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (cores + 5.0, 0.0, 0.0))
    with threads.limit(None, 1_000_000):
        assert _openmp_threads("blas") == {1}
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    before = _openmp_threads("blas")  # another test may have set it (serve's threads: 1)
    with threads.limit(None, 1_000_000):
        assert _openmp_threads("blas") == before
    with threads.limit(None, 500):
        assert _openmp_threads("blas") == {1}


def test_joblib_prefers_threads_so_no_worker_processes_start():
    """A step that leaves joblib's backend open (a FeatureUnion's vectorizers) runs in threads:
    loky's worker processes each import scikit-learn (7 s of waiting in a 600-text trial)."""
    from joblib.parallel import get_active_backend

    for n_jobs in (None, 1):
        with threads.limit(n_jobs, 500):
            backend, _ = get_active_backend()
            assert type(backend).__name__ == "ThreadingBackend"


def test_import_automl_makes_idle_openmp_threads_sleep_unless_the_user_chose():
    """``import automl`` sets OMP_WAIT_POLICY=PASSIVE before torch's or scikit-learn's OpenMP
    runtime loads (their threads otherwise spin against each other on a busy machine), and
    keeps a policy the user set."""
    import os
    import subprocess
    import sys

    from tests import ROOT

    code = "import automl, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "plugins")])
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "PASSIVE", run.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "ACTIVE", run.stderr


def test_import_automl_lets_openmp_threads_spin_briefly_before_they_sleep():
    """A short spin before sleeping (GOMP_SPINCOUNT): waiting passive from the first moment
    made histogram gradient boosting 7x slower on an idle machine (every parallel region a
    wake-up). A count the user set is kept."""
    import os
    import subprocess
    import sys

    from tests import ROOT

    code = "import automl, os; print(os.environ['GOMP_SPINCOUNT'])"
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "plugins")])
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert 0 < int(run.stdout.strip()) <= 30_000, run.stderr  # a short spin, not the default
    env["GOMP_SPINCOUNT"] = "0"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "0", run.stderr
