"""Where one automl fit on bench_scale's table spends its time and memory (#31):

    PYTHONPATH=.:plugins python benchmarks/scale_phases.py ROWS BUDGET

Prints each model fit as it ends (family, rows, seconds, how far its deadline was when it
started, peak RSS during it), when the refit starts and ends, the peak RSS of each phase
(sampled every 50 ms from /proc), ru_maxrss, where the main thread was after the refit
(sampled stacks), the test accuracy and the leaderboard. Linux only (reads /proc/self/statm).
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_scale  # noqa: E402

T0 = time.monotonic()
PHASE = ["start"]
PEAKS: dict[str, float] = {}
STACKS: list[tuple[float, list[str]]] = []


def rss() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def sample(main: int) -> None:
    n = 0
    while True:
        now, phase = rss(), PHASE[0]
        PEAKS[phase] = max(PEAKS.get(phase, 0.0), now)
        n += 1
        if n % 10 == 0 and phase == "post-refit":
            stack = traceback.extract_stack(sys._current_frames().get(main))
            names = [f"{s.filename.split('/')[-1]}:{s.lineno}:{s.name}" for s in stack]
            STACKS.append((round(time.monotonic() - T0, 1), names[-6:]))
        time.sleep(0.05)


def watch(cls: type) -> None:
    """Wrap a kind's ``train``: each fit's family, rows, seconds and peak RSS."""
    original = cls.train

    def train(self, family, model, params, data, metric, split, options):
        label = f"{family.name} n={len(split.x_train)} refit={options.refit_epochs is not None}"
        PHASE[0], began = label, time.monotonic()
        left = None if options.deadline is None else round(options.deadline - began)
        try:
            return original(self, family, model, params, data, metric, split, options)
        finally:
            print(
                f"  t={began - T0:.0f} {label}: {time.monotonic() - began:.1f} s "
                f"(deadline in {left}) peak {PEAKS.get(label, 0):.0f} MiB",
                flush=True,
            )
            PHASE[0] = "between"

    cls.train = train


def main() -> None:
    rows, budget = int(sys.argv[1]), float(sys.argv[2])
    threading.Thread(target=sample, args=(threading.main_thread().ident,), daemon=True).start()
    train, test = bench_scale.split(rows, 0)
    import automl_tabular.catboost_kind as catboost_kind

    import automl
    import automl.api as api
    from automl.kinds import sklearn as sklearn_kind
    from automl.kinds import torch as torch_kind

    watch(sklearn_kind.SklearnKind)
    watch(torch_kind.TorchKind)
    watch(catboost_kind.CatBoostKind)
    final_members = api.final_members

    def refit(*args, **kwargs):
        PHASE[0] = "refit"
        print(f"refit starts t={time.monotonic() - T0:.0f}", flush=True)
        out = final_members(*args, **kwargs)
        PHASE[0] = "post-refit"
        print(f"refit ends t={time.monotonic() - T0:.0f}", flush=True)
        return out

    api.final_members = refit
    began = time.monotonic()
    result = automl.fit(
        train, target=bench_scale.TARGET, time_budget=budget, storage=":memory:", verbose=False
    )
    wall = time.monotonic() - began
    PHASE[0] = "predict"
    predicted = np.asarray(result.predict(test.drop(columns=[bench_scale.TARGET])))
    accuracy = float(np.mean(predicted == test[bench_scale.TARGET].to_numpy()))
    print(f"wall {wall:.1f} s accuracy {accuracy:.4f} timings {result.timings}")
    print("summary", {k: v for k, v in result.summary.items() if k in ("refit", "stopped", "ensemble", "model")})
    print(json.dumps({k: round(v) for k, v in PEAKS.items()}, indent=0))
    print("ru_maxrss MiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    for stack in STACKS:
        print(stack)
    print(result.leaderboard().to_string())


if __name__ == "__main__":
    main()
