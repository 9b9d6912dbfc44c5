from __future__ import annotations

import pandas as pd
import pytest

from tests import DATA


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked slow (subprocesses, servers, browsers: most of the suite's longest)
    first, each group in collection order. Under ``make test`` (two xdist workers, which take
    the tests in this order) a long test then starts early, not last beside an idle worker."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Every test runs in its own folder, so default study storages land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOML_BLOCK", raising=False)


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return pd.read_csv(DATA / "adult_sample.csv")


@pytest.fixture(scope="session")
def iris_frame() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame["target"] = frame["target"].map(dict(enumerate(["setosa", "versicolor", "virginica"])))
    return frame


@pytest.fixture(scope="session")
def diabetes():
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True)
