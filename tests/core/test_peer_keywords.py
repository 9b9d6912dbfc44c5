"""Another library's keyword (AutoGluon's time_limit, FLAML's estimator_list...) is refused
before any data is read, naming what it is called here."""

import pytest

import automl


@pytest.mark.parametrize(
    ("keyword", "ours"),
    [("time_limit", "time_budget="), ("eval_metric", "metric="), ("estimator_list", "models=")],
)
def test_a_peer_keyword_is_refused_naming_ours_before_the_data_is_read(keyword, ours):
    never_read = object()  # not data at all: reading it would fail differently
    with pytest.raises(automl.ParameterError, match=f"{keyword}= is {ours}"):
        automl.fit(never_read, "y", **{keyword: 10})
