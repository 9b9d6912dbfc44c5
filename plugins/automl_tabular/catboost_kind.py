"""CatBoost models as a model kind of the tabular plugin: trained on the encoded table (the
same numeric matrix as the scikit-learn families), stopped at the deadline between boosting
iterations (a CatBoost callback), and saved in CatBoost's own ``.cbm`` format (a flat model
description that loading parses; no pickle, no code), so ``automl.load`` needs no allow-list
for them. Predictions go through ``CatBoostPredictor``, a ``SklearnPredictor`` (CatBoost's
estimators speak scikit-learn's ``predict``/``predict_proba``/``classes_``) that names this kind,
so the core weighs a trained model with ``CatBoostKind.nbytes``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from automl.plugin import SklearnKind, SklearnPredictor

MODEL_FILE = "model.cbm"


class CatBoostPredictor(SklearnPredictor):
    """A trained CatBoost model: the core finds its kind (``nbytes``, ``to_host``) by this
    name; as a ``SklearnPredictor`` its outputs and its export are scikit-learn's."""

    kind = "catboost"


class _Stop:
    """CatBoost's callback protocol: training goes on while ``after_iteration`` says True
    (``info.iteration`` counts the trees grown): until the deadline, or ``trees``."""

    def __init__(self, deadline: float | None, trees: int | None) -> None:
        self.deadline, self.trees = deadline, trees

    def after_iteration(self, info: Any) -> bool:
        if self.trees is not None and info.iteration >= self.trees:
            return False
        return self.deadline is None or time.monotonic() < self.deadline


def thread_count() -> int:
    """The cores ``fit(n_jobs=...)`` gave the fit (joblib's active setting, which
    ``automl.threads.limit`` sets); -1, every core, when it says so."""
    from joblib.parallel import get_active_backend

    _, n_jobs = get_active_backend()
    return int(n_jobs) if n_jobs and n_jobs > 0 else -1


def estimator_class(problem_type: str) -> Any:
    try:
        from catboost import CatBoostClassifier, CatBoostRegressor
    except ImportError:
        from automl.plugin import PluginError

        raise PluginError(
            "this model uses CatBoost, which is not installed: pip install 'automl-nn[catboost]'"
        ) from None

    return CatBoostRegressor if problem_type == "regression" else CatBoostClassifier


class CatBoostKind(SklearnKind):
    name = "catboost"

    def train(self, family, model, params, data, metric, split, options):
        from automl.plugin import fitted_outcome

        started = time.perf_counter()
        model.set_params(random_seed=options.seed, thread_count=thread_count())
        wanted = int(model.get_params()["iterations"])
        # a refit grows the trees its trial grew (``best_epoch``: the folds' mean under
        # cross-validation), fewer than asked where the deadline cut the trial short, at the
        # learning rate CatBoost chose for all it asked: the model the search scored and
        # weighted, on more rows. ``schedule_epochs`` (the trees asked) marks a trial that
        # recorded them; older ones refit all.
        trees = None
        if options.schedule_epochs is not None and options.refit_epochs:
            trees = min(wanted, int(options.refit_epochs))
        callbacks = None
        if options.deadline is not None or trees is not None:
            callbacks = [_Stop(options.deadline, trees)]
        model.fit(split.x_train, split.y_train, sample_weight=split.w_train, callbacks=callbacks)
        grown = int(model.tree_count_)
        stopped_by, note = "fit", ""
        if grown < (trees or wanted):
            stopped_by = "time_budget"
            note = (
                f"time budget reached: {grown} of {wanted} boosting iterations (a refit grows "
                "as many, at the same learning rate)"
            )
        outcome = fitted_outcome(
            model,
            (data.problem_type, data.spec.n_outputs),
            split.x_valid,
            split.y_valid,
            metric,
            started=started,
            stopped_by=stopped_by,
            note=note,
            grown_share=1.0,
        )
        outcome.predictor = CatBoostPredictor(model, data.problem_type, data.spec.n_outputs)
        outcome.best_epoch = outcome.epochs_run = grown  # boosting iterations
        outcome.schedule_epochs = float(wanted)
        return outcome

    def stoppable(self, family, build) -> bool:
        return True

    def cut_is_sound(self, family, build) -> bool:
        """No: its learning rate is CatBoost's for all the iterations asked, so a fit cut
        short underfits (its default on 160,000 rows, cut by a 10 s deadline: validation
        accuracy 0.884, against 0.925 for its whole fit on 50,000 of them)."""
        return False

    def nbytes(self, predictor) -> int:
        count, _ = _leaves(predictor.estimator)
        return 16 * count  # a float64 leaf value per output and its share of the splits

    def save(self, predictor, folder: Path) -> tuple[dict[str, Any], list[str]]:
        folder.mkdir(parents=True, exist_ok=True)
        predictor.estimator.save_model(str(folder / MODEL_FILE), format="cbm")
        return {}, [MODEL_FILE]

    def load(self, family, params, spec, entry, path, device, trusted):
        estimator = estimator_class(spec.problem_type)()
        estimator.load_model(str(path(MODEL_FILE)), format="cbm")
        return CatBoostPredictor(estimator, spec.problem_type, spec.n_outputs)

    def describe(self, family, predictor) -> tuple[str, int | None, str]:
        estimator = predictor.estimator
        shown = {k: v for k, v in estimator.get_params().items() if k != "thread_count"}
        count, unit = _leaves(estimator)
        return f"{type(estimator).__name__}({shown})", count, unit


def _leaves(estimator: Any) -> tuple[int, str]:
    """Leaves over all trees (CatBoost's trees are symmetric: 2**depth leaves each)."""
    trees = int(estimator.tree_count_)
    depth = int(estimator.get_all_params().get("depth", 6))
    return trees * 2**depth, f"leaves in {trees} symmetric trees of depth {depth}"
