"""fit(n_jobs=None): OpenMP gets one thread where a second would only wait (small tables, or a
machine whose cores other processes keep busy)."""

from threadpoolctl import threadpool_info

from automl import threads


def _openmp_threads() -> set[int]:
    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"}


def test_openmp_gets_one_thread_on_a_busy_machine(monkeypatch):
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)

    cores = threads.available_cores()
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (cores + 5.0, 0.0, 0.0))
    with threads.limit(None, 1_000_000):
        assert _openmp_threads() == {1}
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    with threads.limit(None, 1_000_000):
        assert cores == 1 or _openmp_threads() != {1}  # the libraries' own default
    with threads.limit(None, 500):  # a small table: one thread whatever the load
        assert _openmp_threads() == {1}
