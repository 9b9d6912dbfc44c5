"""The report's explanations spend their allowance first on a fixed minimum (SHAP on
``ExplainBounds.min_rows`` rows, SHAP and LIME on ``min_examples`` example rows) and hold it:
the explainers' seconds stay within the allowance plus the timed first units, which run
whatever the clock says. Counts are asserted, and the one time margin is the units' own
recorded seconds, so a busy machine does not make them fail.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from automl.explain import ExplainBounds
from automl.permutation_shap import permutation_shap, sized_permutation_shap
from automl.report.explanations import explain_section
from tests.plugins.tabular.test_explain_tabular import fitted as fitted_table
from tests.plugins.text.test_explain_text import fitted as fitted_text

ALLOWANCE = 8.0  # 5 s reached the minimum on the 2-core machine at load 6, not always


def _shap_rows(out: dict) -> int:
    about = out["shap"] or out["shap_about"] or {}
    return int(about.get("rows", 0))


def _counts(out: dict) -> tuple[int, int]:
    """Example rows explained by SHAP and by LIME."""
    views = out["examples"]
    return (
        sum(bool(v["waterfall"] or v["shap_tokens"]) for v in views),
        sum(bool(v["lime"] or v["lime_tokens"]) for v in views),
    )


def _ensemble():
    """The adult sample's random forest and histogram gradient boosting, averaged 1:1."""
    from automl.ensemble import EnsemblePredictor
    from automl.result import Member

    forest, linear = fitted_table("adult_forest"), fitted_table("adult_hist_gb")
    blend = copy.copy(forest)
    blend.members = [
        Member(0, forest.family, forest.best_params, forest.predictor, weight=1.0),
        Member(1, linear.family, linear.best_params, linear.predictor, weight=1.0),
    ]
    blend.predictor = EnsemblePredictor([(forest.predictor, 1.0), (linear.predictor, 1.0)])
    blend.model_name = "ensemble"
    return blend


def _draw_one(figures) -> None:
    """A figure of the page before the explanations (matplotlib's first is the slowest)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    figures.to_uri(fig)
    plt.close(fig)


def _recording(found, seen: dict[str, float]):
    """``found``'s class, recording in ``seen`` each method's deadline (``seen[method]``) and
    when it was first called (``seen[f"{method} called"]``)."""
    import time

    class Recording(type(found)):
        def explain(self, result, x, *, method, background, bounds, deadline):
            seen.setdefault(f"{method} called", time.monotonic())
            seen[method] = deadline
            return super().explain(
                result, x, method=method, background=background, bounds=bounds, deadline=deadline
            )

    return Recording


@pytest.mark.parametrize("name", ["ensemble", "sms"])
def test_the_minimum_is_explained_within_the_allowance(name):
    """A tabular ensemble (member by member, it reached 2 of 200 rows) and SMS texts (shap's
    partition explainer: 1 of 90) both reach the minimum within the allowance."""
    from automl.report import figures

    result = _ensemble() if name == "ensemble" else fitted_text("sms")
    with figures.timed_page():  # as on a report page: its earlier figures were drawn first
        _draw_one(figures)
        out = explain_section(result, result.holdout, ExplainBounds(seconds=ALLOWANCE))
    assert out["missing"] == []
    assert _shap_rows(out) >= min(50, len(result.holdout[1]))
    shap_examples, lime_examples = _counts(out)
    assert shap_examples >= 3 and lime_examples >= 3
    assert out["explain_s"] <= ALLOWANCE + out["units_s"]


def test_the_explainers_library_is_imported_before_the_allowance_is_shared(monkeypatch):
    """``Explainer.prepare`` (importing shap: 1.5 s of a 5 s allowance on a busy machine) runs
    before the shares are set: LIME's deadline is its share of what is left after it, and the
    time it took still counts in the allowance (SHAP's deadline stays within it)."""
    import time

    from automl.report import explain_time, explanations

    monkeypatch.setattr(explanations.figures, "recent_pace", lambda: 0.0)  # FIGURE_SHARE kept
    result = fitted_table("adult_hist_gb")
    found = explanations.explainer_for(result)
    seen: dict[str, float] = {}

    class Recording(_recording(found, seen)):
        def prepare(self, result):
            time.sleep(1.0)  # a slow import
            seen["prepared"] = time.monotonic()

    begun = time.monotonic()
    allowance = 60.0
    explain_section(result, result.holdout, ExplainBounds(seconds=allowance), Recording())
    prepared = seen["prepared"] - begun
    share = seen["lime"] - seen["prepared"]
    # LIME's share of what was left after prepare, counted from when it ended: at least
    # f * (allowance - prepared) whatever the scheduler did next (f: LIME's share of the
    # explainers' time). Counted from before prepare (the old split) it was f * allowance -
    # prepared, most of prepare's second less: this bound does not depend on the clock.
    f = explain_time.LIME_SHARE * (1 - explain_time.RESERVE_SHARE - explain_time.FIGURE_SHARE)
    assert share >= f * (allowance - prepared) - 1e-6
    assert share > f * allowance - prepared + 0.4
    assert seen["lime"] < seen["shap"] <= begun + allowance


def test_lime_has_its_share_before_shap_explains_more_than_its_minimum(monkeypatch):
    """LIME runs first, to its share of the explainers' time; SHAP's deadline is the end of the
    explainers' time. An image page had SHAP explain 87 images, then no time for LIME (the
    order before): here SHAP, given all the time it can use, still leaves LIME its examples."""
    from automl.explain import Explanation
    from automl.report import explanations

    monkeypatch.setattr(explanations.figures, "recent_pace", lambda: 0.0)
    result = fitted_table("adult_hist_gb")
    found = explanations.explainer_for(result)
    order: list[str] = []

    class Recording(type(found)):
        def explain(self, result, x, *, method, background, bounds, deadline) -> Explanation:
            order.append(method)
            return super().explain(
                result, x, method=method, background=background, bounds=bounds, deadline=deadline
            )

    out = explain_section(result, result.holdout, ExplainBounds(seconds=ALLOWANCE), Recording())
    assert order == ["lime", "shap"]
    assert _counts(out)[1] >= 3
    assert _shap_rows(out) >= min(50, len(result.holdout[1]))


def test_permutation_shap_adds_up_and_is_exact_for_an_additive_model():
    """For f(x) = w . x with features switched off to 0, every order gives feature j the value
    w_j x_j: permutation SHAP is exact, and a row's values add up to f(x) - f(0)."""
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(4, 6)), rng.normal(size=6)

    def evaluate(requests):
        return [(masks * x[i]) @ w for i, masks in requests]

    values, base = permutation_shap([6] * 4, evaluate, permutations=3, seed=1)
    for i in range(4):
        np.testing.assert_allclose(values[i], w * x[i], atol=1e-12)
        assert base[i] == 0.0


class _Clock:
    """A clock that moves only when the model is called: ``call`` seconds a call plus ``each``
    an evaluation, so the sizing is tested without depending on the machine's speed."""

    def __init__(self, call: float, each: float) -> None:
        self.now, self.call, self.each = 0.0, call, each

    def __call__(self) -> float:
        return self.now

    def evaluate(self, requests):
        self.now += self.call + self.each * sum(len(m) for _, m in requests)
        return [np.zeros(len(m)) for _, m in requests]


def test_permutations_are_sized_so_the_minimum_fits(monkeypatch):
    """At 0.1 s a model call and 1 ms an evaluation, 50 rows of 9 features fit 10 s at no more
    than 4 permutation pairs (50 * 2 * 4 * 10 evaluations = 4 s, a call per 50 rows): fewer
    than the 10 asked for are used, the 50 rows are reached, and the time spent stays within
    the deadline plus the timed first row."""
    import automl.permutation_shap as module

    clock = _Clock(call=0.1, each=0.001)
    monkeypatch.setattr(module.time, "monotonic", clock)
    notes: list[str] = []
    values, base, permutations = sized_permutation_shap(
        [9] * 200, clock.evaluate, most=10, minimum=50, deadline=10.0, notes=notes
    )
    assert 1 <= permutations < 10
    assert len(values) >= 50 and len(base) == len(values)
    first_row = 0.1 + 0.001 * module.evaluations(9, 1)
    assert clock.now <= 10.0 + first_row
    assert any("so that 50 rows fit" in note for note in notes)


def test_a_slow_first_call_does_not_make_evaluations_look_free(monkeypatch):
    """The first timed call waited (the load, a warm-up: 1 s more) so the larger second call
    was the quicker: the sizing must not read that as no cost an evaluation (it kept 10
    permutation pairs a row and ran 7.3 s past a 0.6 s deadline at load 5). At 1 ms an
    evaluation the run stays within the deadline plus the first call's wait."""
    import automl.permutation_shap as module

    clock = _Clock(call=0.0, each=0.001)
    first = [True]
    evaluate = clock.evaluate

    def slow_first(requests):
        if first[0]:
            first[0] = False
            clock.now += 1.0
        return evaluate(requests)

    monkeypatch.setattr(module.time, "monotonic", clock)
    notes: list[str] = []
    values, _, permutations = sized_permutation_shap(
        [9] * 200, slow_first, most=10, minimum=50, deadline=5.0, notes=notes
    )
    # 50 rows at 10 pairs take 10 s: fewer pairs, and the run ends in time
    assert permutations < 10 and len(values) >= 50
    assert clock.now <= 5.0 + 1.0


@pytest.mark.parametrize("draw_s", [0.0, 0.5])
def test_a_drawing_explainers_figures_are_timed_before_shap(monkeypatch, draw_s):
    """An explainer that draws its own figures (images) is timed on one example figure after
    LIME, and SHAP's deadline leaves the drawing that pace's time, no more: at the page's pace
    (large charts before it) an image page kept 1.9 s of 5 unused. Bounds from the recorded
    clock readings, not from how fast this machine runs."""
    import time

    from automl.explain import Drawing
    from automl.report import explain_time, explanations

    monkeypatch.setattr(explanations.figures, "recent_pace", lambda: 1.0)  # slow charts before
    result = fitted_table("adult_hist_gb")
    found = explanations.explainer_for(result)
    seen: dict[str, float] = {}
    draws: list[int] = []

    class Drawer(_recording(found, seen)):
        def prepare(self, result):
            super().prepare(result)
            seen["prepared"] = time.monotonic()

        def draw(self, result, x, shap, lime, examples) -> Drawing:
            draws.append(examples)
            time.sleep(draw_s)
            return Drawing()

    allowance, examples = 20.0, 3
    bounds = ExplainBounds(seconds=allowance, examples=examples)
    explain_section(result, result.holdout, bounds, Drawer())
    assert draws == [1, examples]  # the probe (LIME's first example), then the page's drawing
    kept = (1 - explain_time.RESERVE_SHARE) * allowance
    at_page_pace = kept - 1.0 * (examples + explain_time.DRAWN_FIGURES)  # 14 s from the start
    probes = explain_time.DRAWN_EXAMPLE_PROBES * examples + explain_time.DRAWN_OVERVIEW_PROBES
    if draw_s == 0.0:  # a quick drawing leaves SHAP nearly all the explainers' time
        assert seen["shap"] > seen["prepared"] + at_page_pace + 1.0
    else:  # a slow one keeps at least its probe's pace for every figure
        assert seen["shap"] <= seen["lime called"] + kept - draw_s * probes


@pytest.mark.parametrize("pace", [0.01, 1.0])
def test_a_short_allowance_explains_the_minimum_of_example_rows(monkeypatch, pace):
    """When the figures of the explainer's example rows, at the page's pace, would leave SHAP
    and LIME under half the allowance, the page explains ``min_examples`` of them (an image
    page at load 2-4: LIME on 1 image, SHAP on 28 of its 50), and its bounds table says so;
    with quick figures, all of them. A count the caller set is kept either way."""
    from automl.explain import Drawing
    from automl.report import explain_time, explanations

    monkeypatch.setattr(explanations.figures, "recent_pace", lambda: pace)
    result = fitted_table("adult_hist_gb")
    found = explanations.explainer_for(result)
    draws: list[int] = []

    class Drawer(type(found)):
        examples = 6

        def draw(self, result, x, shap, lime, examples) -> Drawing:
            draws.append(examples)
            return Drawing()

    allowance = 16.0  # at pace 1.0: 0.9 * 16 - 8 figures = 6.4 s, under half of it
    out = explain_section(result, result.holdout, ExplainBounds(seconds=allowance), Drawer())
    shown = dict(out["bounds"])["example rows"]
    wanted = explain_time.example_count(Drawer(), (6, 3), 0.0, allowance, None)
    if pace == 1.0:
        assert wanted == 3 and draws[-1] == 3 and out["example_count"] == 3
        assert shown.startswith("3 (not 6:")
    else:
        assert wanted == 6 and draws[-1] == 6 and out["example_count"] == 6 and shown == "6"
    draws.clear()
    set_count = ExplainBounds(seconds=allowance, examples=5)
    out = explain_section(result, result.holdout, set_count, Drawer())
    assert draws[-1] == 5 and dict(out["bounds"])["example rows"] == "5"


def test_the_page_starts_the_explainers_preparation_as_it_begins(monkeypatch):
    """``prepare`` (shap's import: about 2 s of a 5 s allowance at load 5, when LIME, first,
    found none left) starts in a thread as the page begins, while its other sections are
    drawn; the section's own call then waits for what is left of it (here: the rest of a slow
    import, which must end before LIME starts)."""
    import threading
    import time

    from automl.explain import Explanation
    from automl.report import explanations
    from automl.report.page import render_report

    result = fitted_table("adult_hist_gb")
    found = explanations.explainer_for(result)
    calls: list[tuple[str, float]] = []
    done = threading.Event()
    seen: dict[str, float] = {}

    class Slow(type(found)):
        def prepare(self, result):
            calls.append((threading.current_thread().name, time.monotonic()))
            if threading.current_thread() is not threading.main_thread():
                time.sleep(0.5)  # a slow import, under way in the thread
                done.set()
            else:
                done.wait(timeout=5)  # as an import under way in another thread is waited for

        def explain(self, result, x, *, method, background, bounds, deadline) -> Explanation:
            seen.setdefault(method, time.monotonic())
            return super().explain(
                result, x, method=method, background=background, bounds=bounds, deadline=deadline
            )

    begun = time.monotonic()
    page = render_report(result, bounds=ExplainBounds(seconds=20), explainer=Slow())
    assert "automl-explainer-prepare" in [name for name, _ in calls]
    first = min(calls, key=lambda c: c[1])
    assert first[0] == "automl-explainer-prepare" and first[1] - begun < 0.5
    assert done.is_set() and min(seen.values()) > first[1] + 0.5
    assert "LimeTabularExplainer" in page or "LIME" in page


def test_a_table_page_keeps_the_minimums_figures_time_not_the_beeswarms(monkeypatch):
    """SHAP's deadline keeps the time of the figures of the minimum (a bar chart, and per
    example row a LIME chart and a SHAP waterfall), at the page's pace and then at the LIME
    charts' pace, not the beeswarm's: it is drawn last, only if time is left. Keeping it left
    a forest's SHAP 0.15 s at load 6, and a 192-tree forest's 1 row with 1.8 s of a 5 s
    allowance unused."""
    import time

    from automl.report import explain_time, explanations

    result = fitted_table("adult_hist_gb")
    found = explanations.explainer_for(result)
    monkeypatch.setattr(explanations.figures, "recent_pace", lambda: 0.5)
    # at 0.5 s a figure: 8 s less the reserve (0.8 s) and 7 figures, not 9
    assert explain_time.explainers_end(found, 3, 0.0, 8.0) == pytest.approx(8.0 - 0.8 - 3.5)

    # the page's own pace quick (the explainers' end then keeps FIGURE_SHARE, 2.4 s): the
    # LIME charts' pace sets SHAP's deadline
    monkeypatch.setattr(explanations.figures, "recent_pace", lambda: 0.0)
    real_charts = explanations._lime_charts

    def slow_charts(found, lime_exp, count):
        charts = real_charts(found, lime_exp, count)
        if charts:
            charts["pace"] = 0.8  # a LIME chart took 0.8 s: 4 figures after SHAP keep 3.2 s
        return charts

    monkeypatch.setattr(explanations, "_lime_charts", slow_charts)
    deadlines: dict[str, float] = {}
    called = time.monotonic()
    explain_section(
        result, result.holdout, ExplainBounds(seconds=8.0), _recording(found, deadlines)()
    )
    # 0.9 of the allowance less 3.2 s, counted from the section's start (or later): with the
    # beeswarm's two figures kept too it was 1.6 s earlier
    assert called + 8.0 * 0.9 - 3.2 - 1e-6 <= deadlines["shap"] <= called + 8.0


def test_an_explainers_own_figure_timing_sets_the_drawings_time_before_lime(monkeypatch):
    """An explainer that draws its own pictures times one of them on a stand-in
    (``Explainer.figure_seconds``) before the allowance is shared: the page keeps that
    drawing's time, not the charts' pace (slow charts before it kept 1.5 s for 0.3 s of an
    image page's pixels), so LIME's deadline, 40% of the explainers' time, comes later."""
    import time

    from automl.explain import Drawing
    from automl.report import explanations

    monkeypatch.setattr(explanations.figures, "recent_pace", lambda: 1.0)  # slow charts before
    result = fitted_table("adult_hist_gb")
    found = explanations.explainer_for(result)
    seen: dict[str, float] = {}
    timed: list[int] = []

    class Drawer(_recording(found, seen)):
        def figure_seconds(self, result, x) -> float:
            timed.append(len(x))
            return 0.01

        def draw(self, result, x, shap, lime, examples) -> Drawing:
            return Drawing()

    called = time.monotonic()
    bounds = ExplainBounds(seconds=20.0, examples=3)
    explain_section(result, result.holdout, bounds, Drawer())
    assert timed == [1]  # one example picture, timed once
    # 40% of (0.9 * 20 s less 9.5 pictures of 0.01 s): at the charts' pace, 40% of 12 s
    assert seen["lime"] >= called + 0.4 * (0.9 * 20.0 - 0.095) - 1e-6
