"""Several workers on one study: the speed-up of 1, 2 and 4 `automl worker` processes on one
table (issue 31, item 5). For each worker count: a new PostgreSQL study started by
`automl fit DATA --n-trials 1` (its first trial), then that many workers running a fixed total
of trials between them (each worker ``--n-trials total/workers``, one thread each), all reading
the data from the same path. Prints per worker count the wall time of the workers (from the
first start to the last exit), trials per minute, the speed-up against one worker, the best
validation score and the number of distinct configurations (workers that repeat each other add
load, not search).

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_workers.py \\
        [--data ../shared/datasets/tabular/adult_train.csv.gz --target class] \\
        [--models hist_gb] [--trials 12] [--workers 1 2 4] [--storage postgresql://...]

Each worker is one process with one thread (OMP/MKL threads 1): on this 2-core machine the
ceiling is 2x; by design the workers share nothing but the storage, so on N cores the
ceiling is N (or the storage's write rate, far above a trial per second here).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]
# the data sets beside the checkout (../shared), or beside the main checkout for a worktree
SHARED = next(
    (p / "shared" / "datasets" for p in ROOT.parents if (p / "shared" / "datasets").is_dir()),
    Path("/work/shared/datasets"),
)
AUTOML = str(Path(sys.executable).with_name("automl"))
POSTGRES = os.environ.get("AUTOML_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def one(args: argparse.Namespace, workers: int, folder: Path) -> dict:
    name = f"bench-workers-{workers}-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    # the processes run in another folder: a relative PYTHONPATH (.:plugins) would import the
    # installed automl there, not this checkout's
    paths = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    start = [AUTOML, "fit", str(args.data), "--target", args.target, "--study", name]
    start += ["--storage", args.storage, "--n-trials", "1", "--models", args.models]
    start += ["--cv-folds", "0", "--quiet", "--no-report"]
    subprocess.run(start, cwd=folder, env=env, check=True)
    each = args.trials // workers
    argv = [AUTOML, "worker", "--storage", args.storage, "--study", name, "--n-trials", str(each)]
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    procs = [subprocess.Popen(argv, cwd=folder, env=env) for _ in range(workers)]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - began
    load_after = os.getloadavg()[0]
    study = optuna.load_study(study_name=name, storage=args.storage)
    ran = [t for t in study.trials[1:] if t.state.name in ("COMPLETE", "PRUNED")]
    configs = {json.dumps(t.params, sort_keys=True) for t in ran}
    scored = [t.value for t in ran if t.state.name == "COMPLETE"]
    optuna.delete_study(study_name=name, storage=args.storage)
    return {
        "workers": workers,
        "exit codes": codes,
        "trials": len(ran),  # finished: complete or pruned
        "pruned": len(ran) - len(scored),
        "distinct configurations": len(configs),
        "wall s": round(wall, 1),
        "trials per minute": round(60 * len(ran) / wall, 2),
        "best validation": round(max(scored), 4),
        "load 1 min before/after": f"{load_before:.1f}/{load_after:.1f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "tabular/adult_train.csv.gz")
    parser.add_argument("--target", default="class")
    parser.add_argument("--models", default="hist_gb")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--storage", default=POSTGRES)
    args = parser.parse_args()
    args.data = args.data.resolve()
    if not args.data.is_file():
        parser.error(f"no data file {args.data}: pass --data PATH --target COLUMN")
    if any(args.trials % w for w in args.workers):
        parser.error(f"--trials {args.trials} must divide evenly by every --workers count")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(json.dumps({"commit": commit, "data": str(args.data), "trials": args.trials}))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for workers in args.workers:
            rows.append(one(args, workers, Path(folder)))
            base = rows[0]["wall s"] / rows[0]["trials"]  # seconds per trial, one worker
            rows[-1]["speed-up"] = round(base * rows[-1]["trials"] / rows[-1]["wall s"], 2)
            print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
