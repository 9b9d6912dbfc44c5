"""Process memory over many small trials: `python benchmarks/bench_memory.py [n_trials]`.

One fit of 50 trials (every tabular family, the MLP included) on tests/data/adult_sample.csv
with in-memory storage; the resident set size is read from /proc after every trial. Prints RSS
after trials 1, 10, 20, ... and the growth from trial 10 (once every family has run and the
libraries are loaded) to the last, against the bound we hold: 150 MiB. Exits 1 above it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

import automl

BOUND_MIB = 150
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


def main(n_trials: int = 50) -> int:
    frame = pd.read_csv(Path(__file__).parents[1] / "tests" / "data" / "adult_sample.csv")
    seen: list[float] = []
    automl.fit(
        frame,
        target="class",
        n_trials=n_trials,
        storage=":memory:",
        verbose=False,
        max_epochs=10,
        callbacks=[lambda study, trial: seen.append(rss_mib())],
    )
    for i, value in enumerate(seen, start=1):
        if i == 1 or i % 10 == 0:
            print(f"after trial {i:3d}: RSS {value:7.1f} MiB")
    growth = seen[-1] - seen[min(9, len(seen) - 1)]
    print(f"growth from trial 10 to {len(seen)}: {growth:+.1f} MiB (bound {BOUND_MIB} MiB)")
    return 0 if growth <= BOUND_MIB else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
