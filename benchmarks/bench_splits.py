"""The same study on several random test splits: a test split of 250 rows (credit-g) moves
accuracy by +-0.03 from split to split, so one split cannot rank two systems that close. Runs
``studies/<study>.toml`` with ``time_budget`` seconds for each seed (the seed draws the 75/25
split, as ``studyfile.split`` does, and seeds the search), with its report and model saved as
``fit`` does by default, and prints a row per seed and their mean.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_splits.py credit_g 60 0 1 2 3 4

``benchmarks/bench_peers.py`` runs AutoGluon and FLAML on the same splits.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from automl import studyfile

HERE = Path(__file__).resolve().parents[1] / "studies"  # the study files


def main(study: str, seconds: str, seeds: list[str]) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for seed in map(int, seeds):
        spec = studyfile.read(str(HERE / f"{study}.toml"))
        spec.seed = seed
        spec.time_budget = float(seconds)
        spec.name = f"{study}-seed{seed}-budget{seconds}-{stamp}"
        row = studyfile.execute(spec, verbose=False, report=True)
        row.update(seed=seed, budget=float(seconds))
        print("SPLIT " + json.dumps(row, default=str), flush=True)
        rows.append(row)
    scores = [r["score"] for r in rows]
    for r in rows:
        print(f"seed {r['seed']}: {r['metric']} {r['score']}  wall {r['seconds']:.1f} s")
    print(f"mean {sum(scores) / len(scores):.4f} over {len(scores)} splits")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
