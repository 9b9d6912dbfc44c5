"""Does ``time_budget`` bound the whole ``fit``? Runs study definitions with a given budget
(and preset) as new studies, with their report (explanations included) and model saved, as
``fit`` does by default, and prints per run: the wall time of the ``fit`` call against the
budget, the test score, trials, the chosen model, what became of the refit and the timings.
Text studies also get the plain baseline (TF-IDF word uni+bigrams + logistic regression,
scikit-learn defaults, C=1) on the same split.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_budget.py adult:60 mnist:120 \\
        credit_g::fast ...

Each argument is ``<study>:<seconds>[:<preset>]`` (``studies/<study>.toml``; no seconds: the
preset's budget). The rows are also
written to ``benchmarks/bench-budget-<time>.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from automl import studyfile
from automl.settings import PRESETS

PRESET_BUDGETS = {name: p["time_budget"] for name, p in PRESETS.items()}

HERE = Path(__file__).resolve().parents[1] / "studies"  # the study files


def tfidf_baseline(spec: studyfile.StudySpec, train, x_test, y_test) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    text = next(c for c in train.columns if c != spec.target)
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(C=1.0))
    model.fit(train[text].astype(str), train[spec.target])
    column = x_test[text] if hasattr(x_test, "columns") else x_test
    return float((model.predict(column.astype(str)) == y_test).mean())


def run(case: str, stamp: str, index: int) -> dict:
    name, seconds, *rest = case.split(":")
    spec = studyfile.read(str(HERE / f"{name}.toml"))
    spec.preset = rest[0] if rest else None
    # the case's position too: a case given twice is two runs, not a resumed study
    spec.name = f"{name}-budget{seconds or spec.preset}-{stamp}-{index}"
    spec.time_budget = float(seconds) if seconds else None  # none: the preset's
    row = studyfile.execute(spec, verbose=False, report=True)
    budget = float(seconds) if seconds else PRESET_BUDGETS[spec.preset]
    row.update(case=case, budget=budget, over=round(row["seconds"] / budget, 3))
    if spec.task == "text":
        train, x_test, y_test = studyfile.split(spec, studyfile.load_dataset(spec.data))
        row["tfidf_baseline"] = round(tfidf_baseline(spec, train, x_test, y_test), 4)
    return row


def main(cases: list[str]) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(__file__).parent / f"bench-budget-{stamp}.json"
    rows = []
    for index, case in enumerate(cases):
        row = run(case, stamp, index)
        print("BENCH " + json.dumps(row, default=str), flush=True)
        rows.append(row)
        out.write_text(json.dumps(rows, indent=2, default=str))
    for r in rows:
        print(
            f"{r['case']:<22} wall {r['seconds']:>7.1f} s ({r['over']:.2f}x)  "
            f"{r['metric']} {r.get('score')}  base {r.get('tfidf_baseline', '-')}  "
            f"trials {r['trials']}  {r['model']}  refit: {str(r['refit'])[:40]}"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
