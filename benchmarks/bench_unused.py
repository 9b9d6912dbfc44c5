"""No time left unused (issue 31, item 4): a fit that keeps nothing (``storage=":memory:"``:
no report, no saved model) should spend its whole budget searching, and say why when it ends
early. Per study: the wall time of the whole ``fit`` call against the budget, the test score,
trials, why the search stopped (``result.summary["stopped"]``) and the timings.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_unused.py 60 adult credit_g ...

The studies are ``studies/<name>.toml``, split as ``automl fit``/``run`` splits them (their
test rows held out); each fit is a new in-memory study.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import automl
from automl import studyfile

HERE = Path(__file__).resolve().parents[1] / "studies"


def run(name: str, budget: float) -> dict:
    spec = studyfile.read(str(HERE / f"{name}.toml"))
    train, x_test, y_test = studyfile.split(spec, studyfile.load_dataset(spec.data))
    dropped = ("storage", "time_budget", "study_name")  # each fit a new in-memory study
    options = {k: v for k, v in spec.settings().items() if k not in dropped}
    load = os.getloadavg()[0]
    started = time.monotonic()
    result = automl.fit(
        train,
        spec.target,
        **{**options, "time_budget": budget, "storage": ":memory:", "verbose": False},
        **spec.options,
    )
    wall = time.monotonic() - started
    return {
        "study": name,
        "budget": budget,
        "wall_s": round(wall, 1),
        "score": round(result.score(x_test, y_test), 4) if x_test is not None else None,
        "metric": result.metric,
        "trials": len(result.study.trials),
        "stopped": result.summary.get("stopped"),
        "timings": {k: round(v, 1) for k, v in dict(result.timings).items()},
        "load": f"{load:.1f}/{os.getloadavg()[0]:.1f}",
    }


def main(args: list[str]) -> int:
    budget, names = float(args[0]), args[1:]
    rows = []
    for name in names:
        row = run(name, budget)
        print(json.dumps(row), flush=True)
        rows.append(row)
    for r in rows:
        print(
            f"{r['study']:<20} wall {r['wall_s']:>6.1f} s of {r['budget']:g}  {r['metric']} "
            f"{r['score']}  trials {r['trials']}  stopped: {r['stopped']}  load {r['load']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
