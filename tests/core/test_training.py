import time

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from automl.kinds import FitOptions, Split
from automl.kinds.sklearn_training import PROBE_ITERATIONS, TREE_CHUNK, train_sklearn
from automl.kinds.torch_training import DEFAULT_PATIENCE, train_torch
from automl.metrics import METRICS
from automl.training import NonFiniteLoss, resolve_device

PARAMS = {"optimizer": "adam", "lr": 1e-2, "weight_decay": 0.0, "batch_size": 32}


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)  # the nets below are built before train_torch seeds its own run


@pytest.fixture(scope="module")
def iris_split():
    x, y = load_iris(return_X_y=True)
    x = StandardScaler().fit_transform(x).astype(np.float32)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    return x[idx[:110]], y[idx[:110]], x[idx[110:]], y[idx[110:]]


def _net(n_out=3):
    return torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, n_out))


def _train(split, params, *, metric, max_epochs, patience=DEFAULT_PATIENCE, **options):
    """train_torch on a (possibly altered) iris split: a fresh net, multiclass, three outputs."""
    return train_torch(
        _net(),
        params,
        Split(*split),
        FitOptions(**options),
        ("multiclass", 3),
        metric,
        max_epochs=max_epochs,
        patience=patience,
    )


def test_learns_and_keeps_best_epoch(iris_split):
    xt, yt, xv, yv = iris_split
    seen = []
    out = _train(
        (xt, yt, xv, yv),
        PARAMS,
        metric=METRICS["accuracy"],
        max_epochs=30,
        device="cpu",
        seed=0,
        on_epoch=lambda e, s: seen.append((e, s)),
    )
    assert out.score >= 0.9
    assert [e for e, _ in seen] == list(range(1, out.epochs_run + 1))
    assert out.score == max(s for _, s in seen)
    assert METRICS["accuracy"](yv, out.predictor.output(xv)) == pytest.approx(out.score)


def test_same_seed_same_result(iris_split):
    xt, yt, xv, yv = iris_split
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        runs.append(
            _train(
                (xt, yt, xv, yv),
                PARAMS,
                metric=METRICS["log_loss"],
                max_epochs=5,
                device="cpu",
                seed=3,
            ).score
        )
    assert runs[0] == runs[1]


def test_regression_targets_are_scaled_and_restored():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    y = (1000 + 300 * x[:, 0] - 200 * x[:, 1]).astype(np.float32)
    net = torch.nn.Sequential(torch.nn.Linear(3, 1))
    out = train_torch(
        net,
        {**PARAMS, "lr": 5e-2},
        Split(x[:240], y[:240], x[240:], y[240:]),
        FitOptions(device="cpu"),
        ("regression", 1),
        METRICS["r2"],
        max_epochs=40,
    )
    assert out.score > 0.95
    assert abs(out.predictor.output(x[240:]).mean() - y[240:].mean()) < 50


def test_non_finite_loss_raises(iris_split):
    xt, yt, xv, yv = iris_split
    xt = xt.copy()
    xt[0, 0] = np.nan
    with pytest.raises(NonFiniteLoss, match="epoch 1"):
        _train(
            (xt, yt, xv, yv),
            PARAMS,
            metric=METRICS["accuracy"],
            max_epochs=3,
            device="cpu",
        )


def test_early_stopping_and_deadline(iris_split):
    xt, yt, xv, yv = iris_split
    out = _train(
        (xt, yt, xv, yv),
        {**PARAMS, "lr": 1e-9},
        metric=METRICS["accuracy"],
        max_epochs=100,
        device="cpu",
        patience=3,
    )
    assert out.stopped_by == "early_stopping" and out.epochs_run < 10
    out = _train(
        (xt, yt, xv, yv),
        PARAMS,
        metric=METRICS["accuracy"],
        max_epochs=100,
        device="cpu",
        deadline=time.monotonic(),
    )
    assert out.stopped_by == "time_budget" and out.epochs_run == 1


def test_refit_without_validation_runs_exact_epochs(iris_split):
    xt, yt, _, _ = iris_split
    out = train_torch(
        _net(),
        PARAMS,
        Split(xt, yt, None, None),
        FitOptions(device="cpu"),
        ("multiclass", 3),
        None,
        max_epochs=4,
    )
    assert out.epochs_run == 4 and out.best_epoch == 4 and np.isnan(out.score)


def test_device_resolution():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


@pytest.mark.parametrize("schedule", ["constant", "cosine", "onecycle"])
def test_lr_schedules_and_label_smoothing_train(iris_split, schedule):
    xt, yt, xv, yv = iris_split
    params = {**PARAMS, "lr_schedule": schedule, "label_smoothing": 0.1}
    out = _train(
        (xt, yt, xv, yv),
        params,
        metric=METRICS["accuracy"],
        max_epochs=12,
        device="cpu",
        seed=0,
    )
    assert out.score >= 0.85


def test_cosine_schedule_decays_over_the_schedule_horizon(iris_split):
    from automl import space

    opt = space.make_optimizer(PARAMS, _net().parameters())
    sched = space.make_scheduler({"lr_schedule": "cosine", "lr": 1e-2}, opt, total_steps=10)
    for _ in range(10):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] < 1e-6
    assert space.make_scheduler({"lr_schedule": "constant"}, opt, 10) is None


def test_a_forest_stops_growing_at_the_deadline_and_keeps_its_trees(iris_split):
    from sklearn.ensemble import ExtraTreesClassifier

    split = Split(*iris_split)
    x_valid = split.x_valid
    kw = {"problem": ("multiclass", 3), "metric": METRICS["accuracy"]}

    def forest():
        return ExtraTreesClassifier(n_estimators=4 * TREE_CHUNK, random_state=3, n_jobs=1)

    whole = train_sklearn(forest(), split, FitOptions(), **kw)
    assert len(whole.predictor.estimator.estimators_) == 4 * TREE_CHUNK
    assert (whole.stopped_by, whole.note) == ("fit", "")
    # a deadline far away: grown in chunks, the very same forest
    chunked = train_sklearn(forest(), split, FitOptions(deadline=time.monotonic() + 600), **kw)
    assert chunked.stopped_by == "fit" and not chunked.predictor.estimator.warm_start
    np.testing.assert_array_equal(
        chunked.predictor.output(x_valid), whole.predictor.output(x_valid)
    )
    # a deadline already passed: the timed probe's trees only (not a whole chunk: a first
    # chunk of 50 trees on a large table on a busy machine runs far past the deadline), scored,
    # and the leaderboard is told
    late = train_sklearn(forest(), split, FitOptions(deadline=time.monotonic() - 1), **kw)
    assert PROBE_ITERATIONS < TREE_CHUNK
    assert len(late.predictor.estimator.estimators_) == PROBE_ITERATIONS
    assert late.stopped_by == "time_budget"
    assert late.note == (
        f"time budget reached: {PROBE_ITERATIONS} of {4 * TREE_CHUNK} trees grown (a refit "
        "grows all)"
    )
    assert late.score > 0.8
    # its refit, growing all the trees, is planned 20x longer
    assert late.grown_share == PROBE_ITERATIONS / (4 * TREE_CHUNK)


def test_a_forest_does_not_start_a_chunk_that_would_end_past_the_deadline(iris_split):
    from sklearn.ensemble import ExtraTreesClassifier

    class _SlowForest(ExtraTreesClassifier):
        def fit(self, x, y, sample_weight=None):
            time.sleep(0.3)  # every chunk takes at least 0.3 s
            return super().fit(x, y, sample_weight=sample_weight)

    split = Split(*iris_split)
    kw = {"problem": ("multiclass", 3), "metric": METRICS["accuracy"]}
    forest = _SlowForest(n_estimators=4 * TREE_CHUNK, random_state=3, n_jobs=1)
    # the probe ends at 0.3 s or later; the next chunk (of at least as many trees, each at the
    # probe's pace) would end past the deadline at 0.45 s
    out = train_sklearn(forest, split, FitOptions(deadline=time.monotonic() + 0.45), **kw)
    assert len(out.predictor.estimator.estimators_) == PROBE_ITERATIONS
    assert out.stopped_by == "time_budget"
    assert out.grown_share == PROBE_ITERATIONS / (4 * TREE_CHUNK)


def test_a_forest_keeps_back_the_time_its_validation_predictions_take(iris_split):
    """The validation predictions are timed with the probe's trees and kept back from the
    deadline: a forest whose predictions of all its trees would not end in the time left
    grows fewer trees, so that the trial ends scored by its deadline."""
    from sklearn.ensemble import ExtraTreesClassifier

    class _SlowToPredict(ExtraTreesClassifier):
        def predict_proba(self, x):
            # 1 ms per tree and row: all 200 trees on the 40 validation rows take 8 s
            time.sleep(1e-3 * len(self.estimators_) * x.shape[0])
            return super().predict_proba(x)

    split = Split(*iris_split)
    kw = {"problem": ("multiclass", 3), "metric": METRICS["accuracy"]}
    forest = _SlowToPredict(n_estimators=4 * TREE_CHUNK, random_state=3, n_jobs=1)
    # 1 s: time enough to grow all 200 trees on iris, not to predict with them too; timed on
    # the probe's trees, the 30 rows past the first PREDICT_FEW take 30 ms a tree, so the
    # forest stops by 1 / 0.03 = 33 trees (100 even if the machine stalled the timing 0.2 s)
    out = train_sklearn(forest, split, FitOptions(deadline=time.monotonic() + 1.0), **kw)
    grown = len(out.predictor.estimator.estimators_)
    assert PROBE_ITERATIONS <= grown < 100
    assert out.stopped_by == "time_budget"
    assert out.note == f"time budget reached: {grown} of 200 trees grown (a refit grows all)"


def test_the_trees_that_fit_keep_back_the_predictions():
    """``_fits``: the trees (iterations) that end before the deadline at a pace, less the
    predictions' time of the model then (a call's, and each tree's)."""
    from automl.kinds.sklearn_training import _chunk, _fits

    deadline = time.monotonic() + 100.0
    # no predictions: 100 s at 0.1 s a tree
    assert 990 <= _fits(deadline, 0, 0.1, (0.0, 0.0)) <= 1000
    # 10 s a call, and 0.1 s a tree for the 100 grown: 80 s left, at 0.2 s a tree
    assert 390 <= _fits(deadline, 100, 0.1, (10.0, 0.1)) <= 400
    assert _fits(deadline, 100, 0.1, (95.0, 0.1)) == 0  # the predictions alone do not fit
    # a forest's chunk: at most TREE_CHUNK trees; fewer than the probe's is none (the probe's
    # pace, per-call cost included, would underestimate them); the last few left are grown
    assert _chunk(deadline, 10, 200, 0.1, (0.0, 0.0)) == TREE_CHUNK
    assert _chunk(deadline, 10, 200, 10.5, (0.0, 0.0)) == 0  # 9 trees fit, fewer than 10
    assert _chunk(deadline, 195, 200, 10.5, (0.0, 0.0)) == 5


def test_gradient_boosting_stops_near_the_deadline_and_otherwise_matches_one_fit():
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y = load_breast_cancer(return_X_y=True)
    split = Split(x[:450], y[:450], x[450:], y[450:])
    x_valid = split.x_valid
    kw = {"problem": ("binary", 2), "metric": METRICS["accuracy"]}
    kw["growth"] = ("max_iter", "paced")  # as the hist_gb family declares

    def boosting(**params):
        # a slow learning rate: its early stopping does not end the first chunk of iterations
        params = {"learning_rate": 0.01, **params}
        return HistGradientBoostingClassifier(
            max_iter=400, early_stopping=True, random_state=2, **params
        )

    whole = train_sklearn(boosting(), split, FitOptions(), **kw)
    assert whole.predictor.estimator.n_iter_ > TREE_CHUNK
    # a deadline far away: the first chunk, then one warm start to early stopping: the same model
    grown = train_sklearn(boosting(), split, FitOptions(deadline=time.monotonic() + 600), **kw)
    assert (grown.stopped_by, grown.note) == ("fit", "")
    assert grown.predictor.estimator.n_iter_ == whole.predictor.estimator.n_iter_
    np.testing.assert_array_equal(grown.predictor.output(x_valid), whole.predictor.output(x_valid))
    # a deadline already passed: the timed probe's iterations only (not a whole chunk: on a
    # busy machine 50 iterations ran past the deadline), scored, and the leaderboard is told
    late = train_sklearn(boosting(), split, FitOptions(deadline=time.monotonic() - 1), **kw)
    assert late.predictor.estimator.n_iter_ == PROBE_ITERATIONS
    assert late.stopped_by == "time_budget" and not late.predictor.estimator.warm_start
    assert late.note == (
        f"time budget reached: stopped after {PROBE_ITERATIONS} boosting iterations, before "
        "early stopping (a refit runs to early stopping)"
    )
    assert late.score > 0.6
    # early stopping within the first chunk is not a budget cut
    quick = train_sklearn(
        boosting(learning_rate=1.0, n_iter_no_change=1),
        split,
        FitOptions(deadline=time.monotonic() - 1),
        **kw,
    )
    assert quick.predictor.estimator.n_iter_ < PROBE_ITERATIONS
    assert (quick.stopped_by, quick.note) == ("fit", "")


def test_logistic_regression_stops_near_the_deadline_and_otherwise_converges():
    """A linear trial on a busy machine (covertype at a 20 s budget: one lbfgs fit ran 42 s)
    stops near its deadline; far from it, the continuation reaches one fit's optimum."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression, Ridge

    from automl.kinds.sklearn_training import usable_growth
    from plugins.automl_tabular.families import LinearFamily

    x, y = load_breast_cancer(return_X_y=True)  # unscaled: lbfgs needs hundreds of iterations
    split = Split(x[:450], y[:450], x[450:], y[450:])
    kw = {"problem": ("binary", 2), "metric": METRICS["accuracy"]}
    kw["growth"] = LinearFamily.growth
    assert usable_growth(LogisticRegression(max_iter=2000), LinearFamily.growth) is not None
    assert usable_growth(Ridge(), LinearFamily.growth) is None  # fits once

    def linear():
        return LogisticRegression(C=1.0, max_iter=5000)

    whole = train_sklearn(linear(), split, FitOptions(), **kw)
    assert whole.predictor.estimator.n_iter_[0] > TREE_CHUNK
    grown = train_sklearn(linear(), split, FitOptions(deadline=time.monotonic() + 600), **kw)
    assert (grown.stopped_by, grown.note) == ("fit", "")
    np.testing.assert_allclose(
        grown.predictor.output(split.x_valid), whole.predictor.output(split.x_valid), atol=0.02
    )
    late = train_sklearn(linear(), split, FitOptions(deadline=time.monotonic() - 1), **kw)
    assert late.predictor.estimator.n_iter_[0] == TREE_CHUNK
    assert late.stopped_by == "time_budget" and not late.predictor.estimator.warm_start
    assert late.note == (
        f"time budget reached: stopped after {TREE_CHUNK} solver iterations, before convergence "
        "(a refit runs to convergence)"
    )
    # a solver that converges within its first call is not cut by the budget
    scaled = Split(x[:450] / x[:450].max(axis=0), y[:450], x[450:], y[450:])
    quick = train_sklearn(linear(), scaled, FitOptions(deadline=time.monotonic() - 1), **kw)
    assert quick.predictor.estimator.n_iter_[0] < TREE_CHUNK
    assert (quick.stopped_by, quick.note) == ("fit", "")


def test_gradient_boosting_paces_itself_with_the_scoring_of_its_validation_rows():
    """Scoring many validation rows grows with the iterations (1M rows, 949 iterations: past
    the deadline by 74 s); the probe times it too, so the iterations asked leave it room."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    class _SlowToScore(HistGradientBoostingClassifier):
        # at least 0.05 s an iteration to score the 119 validation rows, however fast the
        # machine: like a real model's, it grows with the rows and the iterations
        def predict(self, X):
            time.sleep(0.05 * self.n_iter_ * len(X) / 119)
            return super().predict(X)

        def predict_proba(self, X):
            time.sleep(0.05 * self.n_iter_ * len(X) / 119)
            return super().predict_proba(X)

    x, y = load_breast_cancer(return_X_y=True)
    split = Split(x[:450], y[:450], x[450:], y[450:])
    model = _SlowToScore(max_iter=400, learning_rate=0.01, early_stopping=True, random_state=2)
    kw = {"problem": ("binary", 2), "metric": METRICS["accuracy"], "growth": ("max_iter", "paced")}
    out = train_sklearn(model, split, FitOptions(deadline=time.monotonic() + 2.0), **kw)
    # 2 s at >= 0.05 s an iteration: at most 10 + 40 iterations (the fit's own time: fewer);
    # without the scoring in the pace, the fast fit would ask for all 400
    assert PROBE_ITERATIONS <= out.predictor.estimator.n_iter_ <= 50
    assert out.stopped_by == "time_budget" and out.score > 0.6


def test_gradient_boosting_continues_while_its_time_allows():
    """The probe's pace includes the first call's own cost (binning all rows: on 720,000 rows a
    tenth of its time), which sized the one continuation short: a fit given 40 s stopped
    itself after 21 s. Continuations follow, each sized at the last one's pace, while time is
    left (``MAX_CONTINUATIONS``)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    from automl.kinds.sklearn_training import MAX_CONTINUATIONS

    class _SlowFirstCall(HistGradientBoostingClassifier):
        # the first call costs 2 s more, as binning a large table does; later ones do not
        def fit(self, X, y, **kw):
            if not hasattr(self, "n_iter_"):
                time.sleep(2.0)
            return super().fit(X, y, **kw)

    x, y = load_breast_cancer(return_X_y=True)
    split = Split(x[:450], y[:450], x[450:], y[450:])
    model = _SlowFirstCall(max_iter=400, learning_rate=0.01, early_stopping=False, random_state=2)
    kw = {"problem": ("binary", 2), "metric": METRICS["accuracy"], "growth": ("max_iter", "paced")}
    out = train_sklearn(model, split, FitOptions(deadline=time.monotonic() + 6.0), **kw)
    # the probe's pace (>= 0.2 s an iteration) sized the first continuation to at most 30
    # iterations in the 4 s left; the next, at its own pace, grew on (400: all asked)
    assert MAX_CONTINUATIONS >= 2
    assert out.predictor.estimator.n_iter_ > 60


def test_gradient_boosting_with_early_stopping_continues_once_and_stops_at_its_deadline():
    """Boosting that checks its early stopping every iteration continues once after its probe,
    to all its iterations, and that check stops it at the deadline: each warm start re-bins
    and re-predicts the rows (on 720,000 rows about 5 s at 350 trees), which sized
    continuations paid two or three times. The check is the instance's for that call only:
    the model pickles as scikit-learn's."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    class _Slow(HistGradientBoostingClassifier):
        # at least 0.02 s an iteration, however fast the machine; its fit calls counted
        def fit(self, X, y, **kw):
            self.calls_ = getattr(self, "calls_", 0) + 1
            return super().fit(X, y, **kw)

        def _check_early_stopping_loss(self, *args, **kw):
            time.sleep(0.02)
            return super()._check_early_stopping_loss(*args, **kw)

    x, y = load_breast_cancer(return_X_y=True)
    split = Split(x[:450], y[:450], x[450:], y[450:])
    model = _Slow(
        max_iter=2000,
        learning_rate=0.01,
        early_stopping=True,
        n_iter_no_change=2000,
        random_state=2,
    )
    kw = {"problem": ("binary", 2), "metric": METRICS["accuracy"], "growth": ("max_iter", "paced")}
    out = train_sklearn(model, split, FitOptions(deadline=time.monotonic() + 2.0), **kw)
    fitted = out.predictor.estimator
    assert fitted.calls_ == 2  # the probe, then one continuation
    assert PROBE_ITERATIONS < fitted.n_iter_ < 2000
    assert out.stopped_by == "time_budget"
    assert out.note.startswith(f"time budget reached: stopped after {fitted.n_iter_} boosting")
    assert "_should_stop" not in vars(fitted)  # nothing of the call's left to pickle
