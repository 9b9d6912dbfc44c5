"""Pretrain a torchvision resnet18 on MNIST digits 0-4 (CPU, a few minutes), for the transfer
benchmarks (benchmarks/bench_transfer.py, benchmarks/gpu_backbones.py) of ``pretrained=``.

The model is ``torchvision.models.resnet18(weights=None, num_classes=5)``, so the saved state
dict has torchvision's own key names: it loads into torchvision's resnet18 once its ``fc`` head
is replaced (or with the ``fc.*`` keys dropped). Its input is what ``fit(pretrained=...)`` gives
a resnet18 (``automl_vision.backbone_model``): the grayscale channel repeated to 3, pixels / 255,
resized bilinearly to ``--size`` (32: the resolution the family starts at for 28 px digits), then
normalised with torchvision's resnet18 mean/std (ImageNet's). The JSON written beside the weights
(``<weights stem>.json``) records that, the classes, the held-out accuracy on the MNIST test
digits 0-4, the seconds and the command.

Nothing is downloaded: the images are read from the IDX files of ``--data``.

    python benchmarks/pretrain_vision.py [--out /work/cache/pretrained/resnet18_mnist04.pth]
        [--time-limit 360] [--train-size 12000] [--epochs 3] [--size 32]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# ../shared/datasets beside the checkout (/work/main) or beside a worktree's parent (/work/wt/x)
SHARED = next(
    (p / "shared" / "datasets" for p in HERE.parents if (p / "shared" / "datasets").is_dir()),
    Path("/work/shared/datasets"),
)
DATA = SHARED / "mnist"
OUT = Path("/work/cache/pretrained/resnet18_mnist04.pth")
DIGITS = (0, 1, 2, 3, 4)


def read_idx(path: Path) -> np.ndarray:
    """One gzip-compressed IDX file (uint8 images or labels) as a numpy array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    if raw[:3] != b"\x00\x00\x08":
        raise SystemExit(f"{path} is not a uint8 IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    images = folder / f"{prefix}-images-idx3-ubyte.gz"
    labels = folder / f"{prefix}-labels-idx1-ubyte.gz"
    for path in (images, labels):
        if not path.is_file():
            raise SystemExit(f"missing {path}: --data must name a folder of MNIST IDX .gz files")
    x, y = read_idx(images), read_idx(labels)
    keep = np.isin(y, DIGITS)
    return x[keep], y[keep].astype(np.int64)


def to_tensor(x: np.ndarray, mean: list[float], std: list[float], size: int):
    """(N, 28, 28) uint8 -> (N, 3, size, size) float32, normalised per channel."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(x).float().div_(255.0).unsqueeze(1).expand(-1, 3, -1, -1)
    if size != t.shape[-1]:
        t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    return ((t - m) / s).contiguous()


def accuracy(model, x, y, batch: int = 1000) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            correct += int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    return correct / len(x)


def lr_at(progress: float, max_lr: float, warmup: float = 0.1) -> float:
    """Linear warm-up over the first 10% of the training, then cosine down to 0."""
    if progress < warmup:
        return max_lr * (0.1 + 0.9 * progress / warmup)
    return 0.5 * max_lr * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))


def train(model, x, y, args) -> tuple[int, int, bool]:
    """SGD with momentum. The schedule runs on progress = the larger of the share of planned
    steps done and the share of the time limit spent, so the learning rate anneals to 0 by the
    time limit even when the planned epochs do not fit in it. Returns (epochs begun, steps,
    whether the time limit ended the training)."""
    import torch

    steps_per_epoch = math.ceil(len(x) / args.batch_size)
    total = steps_per_epoch * args.epochs
    opt = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=True
    )
    gen = torch.Generator().manual_seed(args.seed)
    started, step = time.monotonic(), 0
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        running, done = 0.0, 0
        for i in range(steps_per_epoch):
            progress = max(step / total, (time.monotonic() - started) / args.time_limit)
            if progress >= 1:
                print(f"time limit {args.time_limit:.0f}s reached at step {step}/{total}")
                return epoch + 1, step, True
            for group in opt.param_groups:
                group["lr"] = lr_at(progress, args.lr)
            idx = order[i * args.batch_size : (i + 1) * args.batch_size]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            running, done = running + loss.item(), done + 1
        print(
            f"epoch {epoch + 1}/{args.epochs}: train loss {running / max(1, done):.4f}, "
            f"{time.monotonic() - started:.0f}s",
            flush=True,
        )
    return args.epochs, step, False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the state dict goes")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of MNIST IDX .gz files")
    parser.add_argument("--time-limit", type=float, default=360.0, help="training seconds")
    parser.add_argument("--train-size", type=int, default=12000, help="training images (0: all)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--size", type=int, default=32, help="input side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    import torchvision

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    x, y = load_split(args.data, "train")
    if args.train_size and args.train_size < len(x):
        pick = np.random.default_rng(args.seed).choice(len(x), args.train_size, replace=False)
        x, y = x[np.sort(pick)], y[np.sort(pick)]
    x_test, y_test = load_split(args.data, "test")
    preset = torchvision.models.ResNet18_Weights.DEFAULT.transforms()  # metadata, no download
    mean, std = [float(m) for m in preset.mean], [float(s) for s in preset.std]
    print(f"train {len(x)} images of digits {DIGITS}, test {len(x_test)}, at {args.size} px")

    model = torchvision.models.resnet18(weights=None, num_classes=len(DIGITS))
    started = time.monotonic()
    epochs, steps, cut = train(
        model, to_tensor(x, mean, std, args.size), torch.from_numpy(y), args
    )
    train_s = time.monotonic() - started
    acc = accuracy(model, to_tensor(x_test, mean, std, args.size), torch.from_numpy(y_test))
    print(f"held-out accuracy on MNIST test digits 0-4 ({len(x_test)} images): {acc:.4f}")
    print(f"training {train_s:.1f}s ({steps} steps, {epochs} epoch(s) begun)")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    meta = {
        "architecture": "torchvision.models.resnet18(weights=None, num_classes=5)",
        "dataset": "MNIST train split, digits 0-4",
        "classes": list(DIGITS),
        "input_size": [3, args.size, args.size],
        "input": "grayscale repeated to 3 channels, pixels / 255, resized bilinearly, then "
        "(x - mean) / std with torchvision's resnet18 mean/std",
        "mean": mean,
        "std": std,
        "train_images": len(x),
        "test_images": len(x_test),
        "test_accuracy": round(acc, 4),
        "epochs_planned": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "steps": steps,
        "time_limit_cut": cut,
        "train_seconds": round(train_s, 1),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "command": shlex.join([sys.executable, *sys.argv]),
    }
    meta_path = args.out.with_suffix(".json")
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    size = args.out.stat().st_size / 2**20
    print(f"saved {args.out} ({size:.1f} MiB) and {meta_path}")


if __name__ == "__main__":
    main()
