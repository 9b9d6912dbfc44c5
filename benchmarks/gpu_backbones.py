"""The ``pretrained=`` backbones on a GPU: fine-tune this project's own weights (nothing is
downloaded; the GPU machine has no internet), each with ``automl.fit(..., device="cuda")``.

- images: Fashion-MNIST (a packed sample: 10,000 training and 2,000 test images) with
  ``pretrained={"resnet18": <resnet18_mnist04.pth>}`` (benchmarks/pretrain_vision.py);
- text: SST-2 (sst2_train -> sst2_dev) with ``pretrained=<bert_sst2_mlm folder>``
  (benchmarks/pretrain_text.py).

Printed per fit: device, wall seconds of the fit call, test accuracy, trials (and per family),
the chosen model; rows also go to $OUT/gpu_backbones.json (or benchmarks/gpu_backbones.json).
Without CUDA it stops with an error (exit 2), except ``--dry-run`` (loads the data, checks the
weights, fits nothing).

The data and weights travel with the working tree (both under git-ignored folders):

    python benchmarks/gpu_backbones.py --pack       # here: writes benchmarks/data/ (~7 MB)
    mkdir -p benchmarks/pretrained && cp -r /work/cache/pretrained/resnet18_mnist04.pth \\
        /work/cache/pretrained/bert_sst2_mlm benchmarks/pretrained/
    # on the GPU machine (carry benchmarks/data and benchmarks/pretrained):
    python benchmarks/gpu_backbones.py [--only images text] [--budget 240] [--arms pretrained
        scratch]

Two fits at the default 240 s take about 9 minutes with start-up and refits: run one --only per
call where a command is limited to 10 minutes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = next(
    (p / "shared" / "datasets" for p in HERE.parents if (p / "shared" / "datasets").is_dir()),
    Path("/work/shared/datasets"),
)
DATA = HERE / "data"
WEIGHTS = HERE / "pretrained"
FASHION = "fashion_mnist_12k.npz"
SST2 = ("sst2_train.csv.gz", "sst2_dev.csv.gz")


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def pack(shared: Path, out: Path, n_train: int, n_test: int, seed: int) -> None:
    """Fashion-MNIST sample (.npz, compressed) and SST-2's two csv.gz files into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    folder = shared / "fashion_mnist"
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        x = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
        y = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")
        pick = np.sort(rng.choice(len(x), n, replace=False))
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x[pick], y[pick]
    np.savez_compressed(out / FASHION, **arrays)
    for name in SST2:
        shutil.copyfile(shared / "text" / name, out / name)
    for name in (FASHION, *SST2):
        print(f"{out / name}: {(out / name).stat().st_size / 2**20:.2f} MiB")


def load_images(data: Path):
    path = data / FASHION
    if not path.is_file():
        raise SystemExit(f"missing {path}: make it with python benchmarks/gpu_backbones.py --pack")
    with np.load(path) as f:  # uint8 (n, 28, 28) images, int labels 0-9
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def load_text(data: Path):
    missing = [str(data / n) for n in SST2 if not (data / n).is_file()]
    if missing:
        raise SystemExit(f"missing {missing}: make them with benchmarks/gpu_backbones.py --pack")
    train, dev = (pd.read_csv(data / n) for n in SST2)
    return train, (dev["text"], dev["label"])


def check_weights(args: argparse.Namespace) -> None:
    if "pretrained" not in args.arms:
        return
    missing = []
    if "images" in args.only and not args.resnet18.is_file():
        missing.append(f"{args.resnet18} (benchmarks/pretrain_vision.py)")
    if "text" in args.only and not (args.bert / "config.json").is_file():
        missing.append(f"{args.bert} (benchmarks/pretrain_text.py)")
    if missing:
        raise SystemExit(
            f"missing pretrained weights: {', '.join(missing)}; copy them under {WEIGHTS} "
            "(see this script's docstring) or pass --resnet18 / --bert"
        )


def run(part: str, arm: str, args: argparse.Namespace) -> dict:
    import torch

    import automl

    if part == "images":
        (x, y), (x_test, y_test) = load_images(args.data)
        data, target, backbone = (x, y), None, {"resnet18": str(args.resnet18)}
    else:
        frame, (x_test, y_test) = load_text(args.data)
        data, target, backbone = frame, "label", str(args.bert)
    started = time.monotonic()
    result = automl.fit(
        data,
        target,
        device="cuda",
        time_budget=args.budget,
        storage=":memory:",
        report=False,
        save=False,
        verbose=False,
        **({"pretrained": backbone} if arm == "pretrained" else {}),
    )
    wall = time.monotonic() - started
    trials = [t for t in result.study.trials if t.state.name in ("COMPLETE", "PRUNED", "FAIL")]
    models = [t.params.get("model") for t in trials]
    return {
        "data": "fashion_mnist_12k" if part == "images" else "sst2",
        "arm": arm,
        "device": torch.cuda.get_device_name(),
        "budget_s": args.budget,
        "wall_s": round(wall, 1),
        "test_accuracy": round(float(result.score(x_test, y_test, metric="accuracy")), 4),
        "trials": len(trials),
        "per_family": {m: models.count(m) for m in dict.fromkeys(models)},
        "model": result.describe(),
    }


def dry_run(args: argparse.Namespace) -> None:
    if "images" in args.only:
        (x, y), (x_test, y_test) = load_images(args.data)
        print(
            f"images: train {x.shape} {x.dtype}, classes {np.bincount(y).tolist()}; "
            f"test {x_test.shape}"
        )
    if "text" in args.only:
        train, (x_test, y_test) = load_text(args.data)
        print(
            f"text: train {len(train)} rows {list(train.columns)}, labels "
            f"{train['label'].value_counts().to_dict()}; dev {len(x_test)}"
        )
    found = "weights found" if "pretrained" in args.arms else "no weights needed"
    print(f"dry run: data loaded, {found}; nothing fitted")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pack", action="store_true", help="write the data sample and stop")
    parser.add_argument("--shared", type=Path, default=SHARED, help="--pack: datasets folder")
    parser.add_argument("--pack-train", type=int, default=10_000)
    parser.add_argument("--pack-test", type=int, default=2_000)
    parser.add_argument("--data", type=Path, default=DATA, help="the packed data's folder")
    parser.add_argument("--resnet18", type=Path, default=WEIGHTS / "resnet18_mnist04.pth")
    parser.add_argument("--bert", type=Path, default=WEIGHTS / "bert_sst2_mlm")
    parser.add_argument("--only", nargs="+", choices=("images", "text"), default=None)
    parser.add_argument("--arms", nargs="+", choices=("pretrained", "scratch"), default=None)
    parser.add_argument("--budget", type=float, default=240.0, help="time_budget of each fit")
    parser.add_argument("--dry-run", action="store_true", help="load data, check weights (CPU)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.only = args.only or ["images", "text"]
    args.arms = args.arms or ["pretrained"]
    return args


def main() -> None:
    args = parse_args()
    if args.pack:
        pack(args.shared, args.data, args.pack_train, args.pack_test, args.seed)
        return
    check_weights(args)
    if args.dry_run:
        dry_run(args)
        return
    import torch

    if not torch.cuda.is_available():
        print(
            "error: no CUDA device (torch.cuda.is_available() is False): this script measures "
            "the backbones on a GPU; --dry-run checks its data on a CPU",
            file=sys.stderr,
        )
        sys.exit(2)
    out = Path(os.environ.get("OUT", HERE)) / "gpu_backbones.json"
    rows = []
    for part in args.only:
        for arm in args.arms:
            row = run(part, arm, args)
            rows.append(row)
            print(json.dumps(row), flush=True)
            out.write_text(json.dumps(rows, indent=2))
    print("\nsummary")
    for r in rows:
        print(
            f"{r['data']:<18} {r['arm']:<10} {r['device']}  wall {r['wall_s']:.1f}s  "
            f"test {r['test_accuracy']:.4f}  trials {r['trials']}  {r['model']}"
        )


if __name__ == "__main__":
    main()
