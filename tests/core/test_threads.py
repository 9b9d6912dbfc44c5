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
