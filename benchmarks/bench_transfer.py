"""Transfer benchmark of ``pretrained=``: few labels, the same time budget, with and without a
backbone pretrained by this project (nothing downloaded).

Images: MNIST digits 5-9, 20 / 50 / 100 labelled training images per class (drawn from the train
split), scored on all the digits 5-9 of the MNIST test split (4,861 images). Arms: ``pretrained``
(``pretrained={"resnet18": <resnet18_mnist04.pth>}``, a resnet18 pretrained on digits 0-4 by
benchmarks/pretrain_vision.py) and ``scratch`` (the vision task's default families).

Text: SST-2, 500 and 2,000 labelled sentences (a stratified draw from sst2_train), scored on
sst2_dev (872). Arms: ``pretrained`` (``pretrained=<bert_sst2_mlm folder>``, a tiny BERT
pretrained by masked-language modelling on sst2_train's texts by benchmarks/pretrain_text.py),
``scratch`` (the text task's default families) and ``tfidf`` (``models=["tfidf_linear"]``).

Every arm is one call ``automl.fit(data, time_budget=B, storage=":memory:", report=False,
save=False, verbose=False, n_jobs=T, **arm)`` (T: ``--threads``); the table gives the wall
seconds of that call, the test accuracy and the finished trials. Rows also go to
benchmarks/bench_transfer.json.

    python benchmarks/bench_transfer.py [--only images text] [--budget 60] [--sizes 20 50]
        [--arms pretrained scratch tfidf] [--resnet18 FILE] [--bert FOLDER] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

import automl

HERE = Path(__file__).resolve().parent
SHARED = next(
    (p / "shared" / "datasets" for p in HERE.parents if (p / "shared" / "datasets").is_dir()),
    Path("/work/shared/datasets"),
)
WEIGHTS = Path("/work/cache/pretrained")
RESNET18 = WEIGHTS / "resnet18_mnist04.pth"
BERT = WEIGHTS / "bert_sst2_mlm"
SIZES = {"images": (20, 50, 100), "text": (500, 2000)}  # per class / in all
ARMS = {"images": ("pretrained", "scratch"), "text": ("pretrained", "scratch", "tfidf")}
DIGITS = (5, 6, 7, 8, 9)


def check_weights(parts: list[str], arms: list[str], resnet18: Path, bert: Path) -> None:
    """The pretrained arm needs the weights files; say which script makes them."""
    if "pretrained" not in arms:
        return
    missing = []
    if "images" in parts and not resnet18.is_file():
        missing.append(f"{resnet18} (make it: python benchmarks/pretrain_vision.py --out FILE)")
    if "text" in parts and not (bert / "config.json").is_file():
        missing.append(f"{bert} (make it: python benchmarks/pretrain_text.py --out FOLDER)")
    if missing:
        raise SystemExit(
            "the pretrained arm needs weights that are missing:\n  "
            + "\n  ".join(missing)
            + "\n(or pass --resnet18 / --bert, or leave the arm out: --arms scratch tfidf)"
        )


def image_data(per_class: int, seed: int):
    from automl_vision.idx import load_idx

    x, y = load_idx(SHARED / "mnist")
    x_test, y_test = load_idx(SHARED / "mnist", split="test")
    rng = np.random.default_rng(seed)
    pick = np.concatenate(
        [rng.choice(np.flatnonzero(y == d), per_class, replace=False) for d in DIGITS]
    )
    keep = np.isin(y_test, DIGITS)
    return (x[pick], y[pick]), (x_test[keep], y_test[keep])  # (n, 28, 28) uint8, labels 5-9


def text_data(n_labels: int, seed: int):
    from sklearn.model_selection import train_test_split

    train = pd.read_csv(SHARED / "text" / "sst2_train.csv.gz")
    dev = pd.read_csv(SHARED / "text" / "sst2_dev.csv.gz")
    sample, _ = train_test_split(
        train, train_size=n_labels, stratify=train["label"], random_state=seed
    )
    return sample.reset_index(drop=True), (dev["text"], dev["label"])


def arm_options(part: str, arm: str, resnet18: Path, bert: Path) -> dict:
    if arm == "pretrained":
        return {"pretrained": {"resnet18": str(resnet18)} if part == "images" else str(bert)}
    if arm == "tfidf":
        return {"models": ["tfidf_linear"]}
    return {}


def run_arm(part: str, arm: str, size: int, args: argparse.Namespace) -> dict:
    if part == "images":
        train, (x_test, y_test) = image_data(size, args.seed)
        data, target, labels = train, None, f"{size}/class ({size * len(DIGITS)})"
    else:
        frame, (x_test, y_test) = text_data(size, args.seed)
        data, target, labels = frame, "label", str(size)
    started = time.monotonic()
    result = automl.fit(
        data,
        target,
        time_budget=args.budget,
        seed=args.seed,
        storage=":memory:",
        report=False,
        save=False,
        verbose=False,
        n_jobs=args.threads,
        **arm_options(part, arm, args.resnet18, args.bert),
    )
    wall = time.monotonic() - started
    states = [t.state.name for t in result.study.trials]
    return {
        "part": part,
        "setting": arm,
        "labels": labels,
        "budget_s": args.budget,
        "wall_s": round(wall, 1),
        "test_accuracy": round(float(result.score(x_test, y_test, metric="accuracy")), 4),
        "trials": sum(s in ("COMPLETE", "PRUNED", "FAIL") for s in states),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "model": result.describe(),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| data | setting | labels | budget s | wall s | test accuracy | trials | model |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['part']} | {r['setting']} | {r['labels']} | {r['budget_s']:.0f} | "
            f"{r['wall_s']:.1f} | {r['test_accuracy']:.4f} | {r['trials']} | {r['model']} |"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=("images", "text"), default=None)
    parser.add_argument("--budget", type=float, default=60.0, help="time_budget of each fit")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        help="images: labels per class (default 20 50 100); text: labels (default 500 2000); "
        "needs a single --only",
    )
    parser.add_argument(
        "--arms", nargs="+", choices=("pretrained", "scratch", "tfidf"), default=None
    )
    parser.add_argument("--resnet18", type=Path, default=RESNET18, help="resnet18 state dict")
    parser.add_argument("--bert", type=Path, default=BERT, help="the tiny BERT's folder")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU cores each fit uses (fit's n_jobs; default: the libraries' own)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "bench_transfer.json")
    args = parser.parse_args()
    args.only = args.only or ["images", "text"]
    if args.sizes and len(args.only) != 1:
        parser.error(
            "--sizes means labels per class for images and labels for text: pass it "
            "with a single --only images or --only text"
        )
    args.arms = args.arms or ["pretrained", "scratch", "tfidf"]
    return args


def main() -> None:
    args = parse_args()
    check_weights(args.only, args.arms, args.resnet18, args.bert)
    rows = []
    for part in args.only:
        for size in args.sizes or SIZES[part]:
            for arm in (a for a in ARMS[part] if a in args.arms):
                row = run_arm(part, arm, size, args)
                rows.append(row)
                print(json.dumps(row), flush=True)
                args.out.write_text(json.dumps(rows, indent=2))
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
