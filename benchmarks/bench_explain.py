"""Explanation benchmarks: seconds per method, the deletion check (top-ranked vs random features
removed) and SHAP/LIME agreement on real data, and the report's explanation time.

MNIST and Fashion-MNIST (a ConvNet on 12,000 training images), SMS spam (every text family,
5,574 messages) and SST-2 (every text family, 20,000 training phrases), each searched with a
modest ``--time-budget`` (default 120 s); ``sms_spam_ensemble``: a TF-IDF search and a
fastText search on the same split (half the budget each), their models averaged 1:1 (a search
keeps an ensemble only when it wins on validation, so this one is built to time an ensemble's
explanations). On the held-out rows of each search: SHAP on ``--shap-rows`` rows and LIME on
the first ``--lime-rows`` of them (default bounds otherwise), then ``write_report`` with its
default budget (10% of the run or 60 s, whichever is larger).
Prints one JSON row per data set and method, then a table. Data: ../shared/datasets (or
$AUTOML_DATASETS).

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_explain.py [--only mnist sms_spam]

``--report-cases``: instead, the report's explanation section alone under an allowance of
``--report-seconds`` (default 5) after a ``--time-budget`` search, per case: seconds spent
against the allowance, rows in the global SHAP view, and example rows SHAP and LIME explained.
Cases: ``adult`` (the 32,561-row table), ``adult_ensemble`` (hist_gb and catboost searched
on it, averaged 1:1), ``sms_sample`` (tests/data, 600 texts), ``sms_spam`` (5,574 texts),
``mnist_sample`` (tests/data, 1,000 images);
``adult:random_forest`` (a case and a family) searches that family alone: one model,
no ensemble.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_explain.py \
        --report-cases adult sms_sample --time-budget 30 --report-seconds 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from automl_vision.idx import load_idx

import automl
from automl.explain import explain
from automl.faithfulness import agreement

DATA = Path(  # a worktree elsewhere names the data sets' folder in AUTOML_DATASETS
    os.environ.get("AUTOML_DATASETS", Path(__file__).resolve().parents[2] / "shared/datasets")
)
OUT = Path(__file__).parent / "bench_explain"
SETS = ("mnist", "fashion_mnist", "sms_spam", "sms_spam_ensemble", "sst2")
REPORT_CASES = ("adult", "adult_ensemble", "sms_sample", "sms_spam", "mnist_sample")
SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data"
IMAGES = 12_000
SST2_PHRASES = 20_000


def fit(name: str, time_budget: float, seed: int):
    common = {"time_budget": time_budget, "seed": seed, "verbose": False, "report": False}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    common["study_name"] = f"bench-explain-{name.replace(':', '-')}-{stamp}"
    common["storage"] = ":memory:"
    if name in ("mnist", "fashion_mnist"):
        x, y = load_idx(DATA / name)
        pick = np.random.default_rng(seed).choice(len(x), IMAGES, replace=False)
        return automl.fit((x[pick], y[pick]), models=["convnet"], **common)
    if name == "mnist_sample":
        images = np.load(SAMPLES / "mnist_sample.npz")
        return automl.fit((images["x_train"], images["y_train"]), **common)
    if name == "sms_spam_ensemble":
        return ensemble_of(
            [fit(f"sms_spam:{family}", time_budget / 2, seed) for family in FAMILIES_1_1]
        )
    if name == "adult_ensemble":
        return ensemble_of(
            [fit(f"adult:{family}", time_budget / 2, seed) for family in ("hist_gb", "catboost")]
        )
    models = None
    if ":" in name:
        name, models = name.split(":")[0], [name.split(":")[1]]
    if name == "adult":
        frame = pd.read_csv(DATA / "tabular" / "adult_train.csv.gz")
        one = {"ensemble": False} if models else {}  # a family alone: one model, no ensemble
        return automl.fit(frame, target="class", models=models, **one, **common)
    if name == "sms_sample":
        frame = pd.read_csv(SAMPLES / "sms_spam_sample.csv")
        return automl.fit(frame, target="label", models=models, **common)
    if name == "sms_spam":
        frame = pd.read_csv(DATA / "text" / "sms_spam.csv.gz")
    else:
        frame = pd.read_csv(DATA / "text" / "sst2_train.csv.gz")
        frame = frame.sample(SST2_PHRASES, random_state=seed)
    return automl.fit(frame, target="label", models=models, **common)


FAMILIES_1_1 = ("tfidf_linear", "fasttext")


def ensemble_of(results: list):
    """The results' models averaged with equal weights (they share one split and encoder)."""
    import copy

    from automl.ensemble import EnsemblePredictor
    from automl.result import Member

    first = results[0]
    assert all(np.array_equal(r.holdout[1], first.holdout[1]) for r in results)
    blend = copy.copy(first)
    blend.members = [
        Member(r.best_trial, r.family, r.best_params, r.predictor, weight=1.0) for r in results
    ]
    blend.predictor = EnsemblePredictor([(r.predictor, 1.0) for r in results])
    blend.model_name = "ensemble"
    blend.timings = {k: sum(r.timings.get(k, 0.0) for r in results) for k in first.timings}
    outputs = [r.holdout_output for r in results]
    if all(o is not None for o in outputs):
        from automl.metrics import METRICS

        blend.holdout_output = sum(outputs) / len(outputs)
        blend.valid_score = METRICS[first.metric](first.holdout[1], blend.holdout_output)
    blend.summary = {
        **first.summary,
        "validation": f"holdout split of {len(first.holdout[1])} rows",
    }
    return blend


def measure(name: str, result, shap_rows: int, lime_rows: int) -> list[dict]:
    rows, found = [], {}
    for method, n in (("shap", shap_rows), ("lime", lime_rows)):
        started = time.monotonic()
        exp = explain(result, method=method, rows=n)
        seconds = time.monotonic() - started
        found[method] = exp
        check = exp.deletion
        rows.append(
            {
                "dataset": name,
                "model": result.describe()[:70],
                "method": method,
                "rows": len(exp.rows),
                "seconds": round(seconds, 1),
                "s_per_row": round(seconds / max(1, len(exp.rows)), 3),
                "removed": f"top {check.share:.0%}",
                "drop": round(check.mean_drop, 4),
                "random_drop": round(check.mean_random, 4),
                "verdict": check.verdict,
            }
        )
    shap, lime = found["shap"], found["lime"]
    common = min(len(shap.rows), len(lime.rows))
    agree = agreement(
        [shap.attributions(i) for i in range(common)],
        [lime.attributions(i) for i in range(common)],
        share=shap.deletion.share,
    )
    for row in rows:
        row["agree_rank_corr"] = round(agree.mean_correlation, 3)
        row["agree_top_overlap"] = round(agree.mean_overlap, 3)
        row["agree_rows"] = common
    return rows


def report_seconds(name: str, result) -> tuple[float, float]:
    """The report's explanation time (what its page says) and its whole render time."""
    from automl.report import write_report

    started = time.monotonic()
    path = write_report(result, OUT / name / "report.html")
    total = time.monotonic() - started
    took = re.search(r"and took ([\d.]+) s", Path(path).read_text(encoding="utf-8"))
    return (float(took.group(1)) if took else float("nan")), total


def report_case(name: str, result, seconds: float) -> dict:
    """The report's explanation section under an allowance of ``seconds``, after the page's
    sections that come before it (their figures set the pace the explanations keep time for):
    what it spent and what it explained."""
    from automl.explain import ExplainBounds
    from automl.report import figures, sections
    from automl.report.explanations import explain_section, prepare_ahead

    with figures.timed_page():  # as the page does: its figures come before the explanations'
        prepare_ahead(result)  # and the explainer's preparation begins with them
        for section in (sections.data_section, sections.search_section):
            sections.guarded(section, result)
        sections.guarded(sections.model_section, result, result.holdout)
        started = time.monotonic()
        out = explain_section(result, result.holdout, ExplainBounds(seconds=seconds))
    spent = time.monotonic() - started
    about = out["shap"] or out["shap_about"] or {}
    examples = out["examples"]
    return {
        "case": name,
        "model": result.describe()[:70],
        "allowance_s": seconds,
        "spent_s": round(spent, 1),
        "explainers_s": round(out["explain_s"], 1),
        "units_s": round(out.get("units_s", 0.0), 2),
        "shap_rows": about.get("rows", 0),
        "shap_examples": min(out["example_count"], out["rows_explained"]["SHAP"]),
        "lime_examples": min(out["example_count"], out["rows_explained"]["LIME"]),
        "views": len(examples),
        "missing": "; ".join(f"{a}: {b}" for a, b in out["missing"])[:160],
        "shap_notes": out["notes"]["SHAP"],
    }


def report_case_name(text: str) -> str:
    """A report case: one of REPORT_CASES, or a data set and one family (``adult:random_forest``:
    one model alone, not an ensemble)."""
    base = text.split(":")[0]
    if base not in REPORT_CASES or (":" in text and base.endswith("_ensemble")):
        raise argparse.ArgumentTypeError(f"unknown report case {text!r}; known: {REPORT_CASES}")
    return text


def report_cases(args) -> None:
    table = []
    for name in args.report_cases:
        result = fit(name, args.time_budget, args.seed)
        row = report_case(name, result, args.report_seconds)
        row["load"] = round(os.getloadavg()[0], 1)
        print(json.dumps(row), flush=True)
        table.append(row)
    pd.set_option("display.width", 250)
    shown = pd.DataFrame(table).drop(columns=["model", "missing", "shap_notes"])
    print(shown.to_string(index=False))
    for row in table:
        print(f"{row['case']}: {row['model']} | {row['missing'] or 'nothing missing'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=SETS, default=list(SETS))
    parser.add_argument("--time-budget", type=float, default=120.0)
    parser.add_argument("--shap-rows", type=int, default=100)
    parser.add_argument("--lime-rows", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument(
        "--report-cases",
        nargs="*",
        type=report_case_name,
        default=None,
        help=f"{', '.join(REPORT_CASES)}; adult:FAMILY or sms_spam:FAMILY searches one family",
    )
    parser.add_argument("--report-seconds", type=float, default=5.0)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.report_cases:
        report_cases(args)
        return
    table = []
    for name in args.only:
        started = time.monotonic()
        result = fit(name, args.time_budget, args.seed)
        fit_s = time.monotonic() - started
        rows = measure(name, result, args.shap_rows, args.lime_rows)
        explained, rendered = report_seconds(name, result)
        for row in rows:
            row.update(
                fit_s=round(fit_s, 1),
                valid=round(result.valid_score, 4),
                report_explain_s=explained,
                report_s=round(rendered, 1),
            )
            print(json.dumps(row), flush=True)
        table += rows
    frame = pd.DataFrame(table)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 48)
    print(frame.drop(columns=["model"]).to_string(index=False))
    for name in dict.fromkeys(frame["dataset"]):
        print(f"{name}: {frame.loc[frame['dataset'] == name, 'model'].iloc[0]}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_explain.json").write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
