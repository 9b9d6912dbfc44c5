"""How far past its deadline a forest trial on a large table ends, scoring included (issue 31:
the deadline's loose ends). A random forest on a synthetic table (``--rows`` training rows,
a quarter as many validation rows, 20 columns) is trained by ``train_sklearn`` under a
deadline ``--seconds`` away, with this checkout's code and, with ``--against REV``, with
``automl/kinds/sklearn_training.py`` of that commit (the rest of automl as checked out).
Prints per version the trees grown, the seconds from the start, and the seconds past the
deadline at which the scored outcome came back.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_forest_deadline.py \\
        [--rows 200000] [--trees 300] [--seconds 3] [--against 771313c]

One thread (``n_jobs=1``), so the figures say what one busy core gives.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODULE = "automl/kinds/sklearn_training.py"


def version(rev: str | None):
    """``train_sklearn`` of this checkout (None) or of commit ``rev``."""
    if rev is None:
        from automl.kinds.sklearn_training import train_sklearn

        return train_sklearn
    source = subprocess.run(
        ["git", "show", f"{rev}:{MODULE}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as file:
        file.write(source)
    spec = importlib.util.spec_from_file_location(f"sklearn_training_{rev}", file.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    os.unlink(file.name)
    return module.train_sklearn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--against", help="a commit whose train_sklearn runs first")
    args = parser.parse_args()
    if args.rows < 100 or args.trees < 1 or args.seconds <= 0:
        parser.error("--rows >= 100, --trees >= 1 and --seconds > 0, please")
    from sklearn.ensemble import RandomForestClassifier

    from automl.kinds import FitOptions, Split
    from automl.metrics import METRICS

    rng = np.random.default_rng(0)
    n = args.rows + args.rows // 4
    x = rng.normal(size=(n, 20)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=n) > 0).astype(np.int64)
    split = Split(x[: args.rows], y[: args.rows], x[args.rows :], y[args.rows :])
    runs = [("checked out", None)]
    if args.against:
        runs.insert(0, (args.against, args.against))
    for name, rev in runs:
        train = version(rev)
        forest = RandomForestClassifier(n_estimators=args.trees, n_jobs=1, random_state=0)
        began = time.monotonic()
        deadline = began + args.seconds
        out = train(
            forest, split, FitOptions(deadline=deadline), ("binary", 2), METRICS["accuracy"]
        )
        ended = time.monotonic()
        row = {
            "code": name,
            "trees": len(out.predictor.estimator.estimators_),
            "seconds": round(ended - began, 1),
            "past the deadline": round(ended - deadline, 1),
            "accuracy": round(out.score, 4),
            "load 1 min": round(os.getloadavg()[0], 1),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
