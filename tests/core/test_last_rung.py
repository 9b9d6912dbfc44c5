"""The last rung (automl.last_rung): a time-budgeted search of a table large enough for row
rungs keeps time at its end for one of its best configurations on all training rows."""

import optuna
import pandas as pd
from automl_tabular.families import CatBoostFamily, HistGradientBoostingFamily, LinearFamily
from automl_tabular.task import TabularTask
from sklearn.datasets import make_classification

import automl
from automl import last_rung
from automl.budget import Budget
from automl.row_rungs import RowRungs
from automl.trial_attrs import LAST_RUNG_OF


def _data():
    x, y = make_classification(n_samples=2000, n_features=6, random_state=0)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)]).assign(y=y)
    return TabularTask().adapt(frame, "y", row_rungs_from=200)  # 1,600 training rows


def _trial(family, data, value, rows, seconds, **attrs):
    params = {"model": family.name, **family.default_params(data)}
    dists = {k: optuna.distributions.CategoricalDistribution([v]) for k, v in params.items()}
    user_attrs = {"rows_trained": rows, "train_seconds": seconds, **attrs}
    return optuna.trial.create_trial(
        params=params, distributions=dists, value=value, user_attrs=user_attrs
    )


def test_the_configuration_that_reaches_the_most_rows_in_the_time_kept_is_chosen():
    data = _data()  # 1,600 training rows: rungs of 200, 600 and all
    made = (CatBoostFamily(), HistGradientBoostingFamily(), LinearFamily())
    families = {f.name: f for f in made}
    study = optuna.create_study(direction="maximize")
    # the best: CatBoost on 200 rows, 1 s: on 600 rows 3 s are expected, on all 8 s
    study.add_trial(_trial(families["catboost"], data, 0.95, 200, 1.0, valid_loss=0.1))
    # next: hist_gb on 600 rows, 3 s (1 s of it predicting the validation rows): 1 + 2 * 1600/600
    study.add_trial(_trial(families["hist_gb"], data, 0.94, 600, 3.0, scoring_seconds=1.0))
    study.add_trial(_trial(families["linear"], data, 0.96, 1600, 0.5))  # on all rows already
    assert last_rung.fit_seconds(study.trials[1], 1600) == 1.0 + 2.0 * 1600 / 600

    # 10 s: at most 4.5 s kept. CatBoost's fit must end in them (cut short, it underfits: its
    # learning rate is set for all its trees): 600 rows. hist_gb's cut fit is sound, and its
    # 6.3 s on all rows are within CUT times the time kept: it reaches the most rows
    chosen = last_rung.choose(study, data, families, Budget(10.0))
    assert (chosen.trial.params["model"], chosen.rows) == ("hist_gb", 1600)
    assert chosen.seconds == last_rung.SHARE * 10.0
    # 100 s: CatBoost's whole fit on all rows ends in the time kept; on a tie in rows, the
    # better score
    chosen = last_rung.choose(study, data, families, Budget(100.0))
    assert (chosen.trial.params["model"], chosen.rows) == ("catboost", 1600)
    assert chosen.seconds == last_rung.MARGIN * 8.0
    # 4 s: no rung above either trial's own fits
    assert last_rung.choose(study, data, families, Budget(4.0)) is None
    assert last_rung.choose(study, data, families, Budget(None)) is None

    # a sound fit goes as far as its time allows: hist_gb on 200 rows, 3 s, takes 7 s on 600
    # rows and 17 s on all; with 4.5 s kept (CUT: 9 s), 600 rows
    slow = optuna.create_study(direction="maximize")
    slow.add_trial(_trial(families["hist_gb"], data, 0.94, 200, 3.0, scoring_seconds=1.0))
    chosen = last_rung.choose(slow, data, families, Budget(10.0))
    assert (chosen.rows, chosen.seconds) == (600, last_rung.SHARE * 10.0)

    # a pace measured on 150 rows says little of a fit on 1,600 (more than REACH times them)
    small = optuna.create_study(direction="maximize")
    small.add_trial(_trial(families["hist_gb"], data, 0.94, 150, 0.1))
    assert last_rung.REACH * 150 < 1600
    assert last_rung.choose(small, data, families, Budget(100.0)).rows == 600

    # a trial on all rows, or one that is itself a last rung, is never repeated
    again = optuna.create_study(direction="maximize")
    again.add_trial(_trial(families["linear"], data, 0.96, 1600, 0.5))
    again.add_trial(
        _trial(families["hist_gb"], data, 0.9, 600, 3.0, **{LAST_RUNG_OF: 0}, valid_loss=0.1)
    )
    assert last_rung.choose(again, data, families, Budget(10.0)) is None


def test_a_search_whose_best_trials_trained_on_a_subsample_ends_with_the_last_rung(monkeypatch):
    """No trial climbs (every rung fit is below the best third): the search's end trains one of
    the best configurations on all 2,400 training rows, scored like any trial. Its expected
    fit is set to 4 s (``fit_seconds``, whose choice the tests above check), so the choice and
    the 4.8 s kept for it do not follow the pace: in CI the test failed 2 runs of 4 with no
    last rung (cause not found; not reproduced beside ten busy processes), also when the
    expectation was held to 2 s. A cut fit is kept as grown; on failure the message shows the
    search's summary and budget."""
    monkeypatch.setattr(RowRungs, "promotes", lambda self, rung, score, better: False)
    monkeypatch.setattr(last_rung, "fit_seconds", lambda trial, rows: 4.0)
    x, y = make_classification(n_samples=3000, n_features=8, n_informative=5, random_state=0)
    result = automl.fit(
        x,
        y,
        time_budget=12,
        storage=":memory:",
        verbose=False,
        models=["linear", "hist_gb"],
        cv_folds=0,
        seed=0,
        row_rungs_from=300,  # 2,400 training rows: rungs of 300, 900 and all (8 times 300)
    )
    board = result.leaderboard().set_index("trial")
    last = board[board["note"].str.startswith("the last rung: trial", na=False)]
    shown = board[["model", "rows", "seconds", "state", "note"]].to_string()
    assert len(last) == 1, f"{shown}\n{result.summary}\n{result.budget}"
    row = last.iloc[0]
    of = int(row["note"].split("trial ")[1].split("'")[0])
    assert row["state"] == "complete" and row["rows"] == 2400
    assert (row["model"], row["params"]) == (board.loc[of, "model"], board.loc[of, "params"])
    assert board.loc[of, "rows"] == 300
    assert set(board["rows"].dropna()) == {300, 2400}  # no trial climbed; the last rung did
    assert "on 2400 training rows" in row["note"]
    assert result.budget["kept_for_last_rung_s"] > 0
