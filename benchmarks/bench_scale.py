"""automl and AutoGluon on one large synthetic table (#31): wall time, accuracy, peak memory.

    python benchmarks/bench_scale.py --rows 1000000 --budgets 120 [--peers /tmp/peers/bin/python]

The table has 10 numeric and 3 categorical (string) columns and a binary target that depends on
both through interactions, with label noise; ``table(rows, seed)`` draws it (seeded, so both
systems get the same rows), and 100,000 more rows of the same draw are the test set. Each
system fits in a process of its own (``--system`` runs one: the others are started that way),
so its peak resident memory (``ru_maxrss``: the table's own memory included, the same for
both) is its own. automl runs with ``storage=":memory:"`` and no report or saving; AutoGluon
with ``TabularPredictor(label).fit(train, time_limit=budget)`` (its default preset), in the
Python given by ``--peers`` (a virtual environment with ``autogluon.tabular``). Prints one
line per system and budget: wall seconds, test accuracy, peak MiB and trials (automl: the
study's, with the families that trained; AutoGluon: its models), and the torch build each
process imported, if any, which its peak depends on (AutoGluon imports torch in its fit when
torch is installed, even when it trains no network). ``--models`` sets automl's families
(``--models linear hist_gb mlp`` starts the network, the peak's worst case). Compare peaks
only between processes with the same torch build. With AutoGluon, each budget also prints the
paired difference of the two systems' test accuracies on the same rows, with its standard error
(the rows only one of them gets right); ``--seeds`` repeats all of it on other draws of the
table and prints the differences' mean and its standard error over the seeds.

    python benchmarks/bench_scale.py --rows 1000000 --budgets 120 --seeds 0 1 2 \
        --peers /tmp/peers/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TEST_ROWS = 100_000
TARGET = "label"
LEVELS = (4, 12, 40)  # levels of the three categorical columns


def table(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` rows of the benchmark's table, the same for a seed, drawn in blocks of rows so
    that a 5,000,000-row table costs its own memory, not several temporary copies."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 10), dtype=np.float32)
    codes = [rng.integers(0, n, rows, dtype=np.int16) for n in LEVELS]
    effects = [np.random.default_rng(seed + 100 + i).normal(0, 1, n) for i, n in enumerate(LEVELS)]
    logit = (
        1.5 * x[:, 0] * x[:, 1]
        + 2.0 * np.sin(2 * x[:, 2])
        + x[:, 3]
        - 0.7 * x[:, 4] ** 2
        + 0.8 * np.abs(x[:, 5])
        + 0.5 * x[:, 6] * (codes[0] == 1)
    )
    for effect, code in zip(effects, codes):
        logit += 1.2 * effect[code]
    noise = rng.logistic(0, 0.35, rows).astype(np.float32)
    y = (logit + noise > np.median(logit)).astype(np.int8)
    frame = pd.DataFrame({f"num{i}": x[:, i].astype(np.float64) for i in range(10)})
    del x
    for i, (n, code) in enumerate(zip(LEVELS, codes)):
        names = np.array([f"c{i}_{j}" for j in range(n)], dtype=object)
        frame[f"cat{i}"] = names[code]
    frame[TARGET] = np.where(y == 1, "yes", "no")
    return frame


def split(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    whole = table(rows + TEST_ROWS, seed)
    return whole.iloc[:rows].reset_index(drop=True), whole.iloc[rows:].reset_index(drop=True)


def peak_mib() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def torch_build() -> str | None:
    """The version of torch that this process imported (``2.14.1+cu130``, ``2.13.0+cpu``), or
    None when it did not: the build sets what its import costs (468 and 180 MiB here)."""
    torch = sys.modules.get("torch")
    return str(torch.__version__) if torch is not None else None


def run_automl(
    train: pd.DataFrame, test: pd.DataFrame, budget: float, models: list[str] | None = None
) -> dict:
    import automl

    started = time.perf_counter()
    options = {"models": models} if models else {}
    result = automl.fit(
        train, target=TARGET, time_budget=budget, storage=":memory:", verbose=False, **options
    )
    wall = time.perf_counter() - started
    predicted = result.predict(test.drop(columns=[TARGET]))
    board = result.leaderboard()
    rows = sorted({int(r) for r in board["rows"].dropna()}) if "rows" in board else []
    trained = board[board["state"] == "complete"]["model"]  # the families that trained
    right = np.asarray(predicted) == test[TARGET].to_numpy()
    return {
        "wall": wall,
        "accuracy": float(np.mean(right)),
        "right": right,
        "trials": len(board),
        "timings": result.timings,
        "rows_trained": rows,
        "families": sorted(set(trained)),
        # whether torch was imported, and which build: on this machine 468 MiB of resident
        # memory for 2.14.1's CUDA build, 180 MiB for 2.13.0's CPU build
        "torch": torch_build(),
        "refit": result.summary.get("refit"),
    }


def run_autogluon(train: pd.DataFrame, test: pd.DataFrame, budget: float) -> dict:
    from autogluon.tabular import TabularPredictor

    with tempfile.TemporaryDirectory() as path:
        started = time.perf_counter()
        predictor = TabularPredictor(TARGET, path=path, verbosity=0)
        predictor.fit(train, time_limit=budget)
        wall = time.perf_counter() - started
        predicted = predictor.predict(test.drop(columns=[TARGET]))
        names = predictor.model_names()
    right = predicted.to_numpy() == test[TARGET].to_numpy()
    return {
        "wall": wall,
        "accuracy": float(np.mean(right)),
        "right": right,
        "trials": len(names),
        "families": sorted(names),
        "torch": torch_build(),
    }


def one(  # noqa: PLR0913
    system: str, rows: int, budget: float, seed: int, right: str | None, models: list[str] | None
) -> None:
    """Fit one system in this process and print its figures as one JSON line; ``right``: a
    .npy file for whether each test row was predicted right (the paired comparison)."""
    train, test = split(rows, seed)
    if system == "automl":
        figures = run_automl(train, test, budget, models)
    else:
        figures = run_autogluon(train, test, budget)
    correct = figures.pop("right")
    if right:
        np.save(right, correct)
    figures.update(system=system, rows=rows, budget=budget, peak_mib=peak_mib())
    print("RESULT " + json.dumps(figures, default=str), flush=True)


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, int, int]:
    """Accuracy of ``a`` less that of ``b`` on the same rows (whether each row was right), its
    standard error (from the rows only one of them got right), and those two counts."""
    n = len(a)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    diff = (only_a - only_b) / n
    se = float(np.sqrt(max(only_a + only_b - n * diff**2, 0.0))) / n
    return diff, se, only_a, only_b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--budgets", type=float, nargs="+", required=True)
    parser.add_argument("--peers", help="a Python with autogluon.tabular installed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--models", nargs="+", help="automl's families (its models=), e.g. linear hist_gb mlp"
    )
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--system", choices=("automl", "autogluon"), help=argparse.SUPPRESS)
    parser.add_argument("--right", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.system:
        one(args.system, args.rows, args.budgets[0], args.seed, args.right, args.models)
        return 0
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root}:{root / 'plugins'}"}
    systems = [("automl", sys.executable)]
    if args.peers:
        systems.append(("autogluon", args.peers))
    differences: dict[float, list[float]] = {b: [] for b in args.budgets}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            for budget in args.budgets:
                right = {
                    system: run_one(
                        system, python, (args.rows, budget, seed), scratch, env, args.models
                    )
                    for system, python in systems
                }
                if all(r is not None for r in right.values()) and len(right) == 2:
                    diff, se, only_a, only_b = paired(right["automl"], right["autogluon"])
                    differences[budget].append(diff)
                    print(
                        f"seed {seed} budget {budget:g} s: automl - AutoGluon accuracy "
                        f"{diff:+.4f} (paired s.e. {se:.4f}; {only_a:,d} rows only automl got "
                        f"right, {only_b:,d} only AutoGluon)",
                        flush=True,
                    )
    for budget, found in differences.items():
        if len(found) > 1:
            mean, se = float(np.mean(found)), float(np.std(found, ddof=1) / np.sqrt(len(found)))
            print(
                f"budget {budget:g} s over seeds {args.seeds}: automl - AutoGluon accuracy "
                f"{mean:+.4f} (s.e. over the seeds {se:.4f})"
            )
    return 0


def run_one(  # noqa: PLR0913
    system: str,
    python: str,
    case: tuple[int, float, int],
    scratch: str,
    env: dict,
    models: list[str] | None,
) -> np.ndarray | None:
    """One system's fit (``case``: rows, budget, seed) in a process of its own; prints its line,
    returns whether each test row was predicted right (None when it failed)."""
    rows, budget, seed = case
    right = os.path.join(scratch, f"{system}-{seed}-{budget:g}.npy")
    command = [python, __file__, "--system", system, "--rows", str(rows), "--right", right]
    command += ["--budgets", str(budget), "--seed", str(seed)]
    if models and system == "automl":
        command += ["--models", *models]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        print(f"{system} {rows} rows, {budget:g} s, seed {seed}: failed\n{done.stderr[-3000:]}")
        return None
    r = json.loads(lines[-1][len("RESULT ") :])
    load = os.getloadavg()[0]
    print(
        f"{system:9s} rows {rows:>9,d} budget {budget:>5g} s seed {seed}: wall {r['wall']:6.1f} s"
        f"  accuracy {r['accuracy']:.4f}  peak {r['peak_mib']:6,.0f} MiB"
        f"  trials {r['trials']:3d}  load {load:.1f}"
        + (f"  rows {r['rows_trained']} timings {r['timings']}" if "timings" in r else "")
        + f"  families {r['families']} torch {r['torch'] or 'not imported'}",
        flush=True,
    )
    return np.load(right)


if __name__ == "__main__":
    sys.exit(main())
