"""Pretrain a tiny BERT by masked-language modelling on SST-2's training sentences (their texts
only, never their labels), on the CPU within a time limit, for the transfer benchmarks
(benchmarks/bench_transfer.py, benchmarks/gpu_backbones.py) of ``pretrained=``.

1. A WordPiece vocabulary (``--vocab-size``, default 8,000) is trained on the sentences with
   ``tokenizers`` (BERT's lower-casing normaliser and pre-tokenizer) and wrapped as transformers'
   ``BertTokenizerFast``.
2. ``BertForMaskedLM`` (hidden 128, 4 layers, 4 heads, intermediate 512, 128 positions by
   default) learns to fill in 15% masked tokens (80% [MASK], 10% random, 10% kept) with AdamW;
   the learning rate warms up, then decays along a cosine that ends at the time limit.
3. The model (safetensors) and the tokenizer go to ``--out`` with ``save_pretrained``, plus
   ``pretrain.json`` (the MLM loss on held-out sentences before and after, seconds, command).
   ``AutoModel.from_pretrained(out)`` loads the encoder (its ``bert.*`` weights; the pooler,
   which masked-language modelling does not train, is left newly initialised) and
   ``AutoTokenizer.from_pretrained(out)`` the tokenizer.

Nothing is downloaded.

    python benchmarks/pretrain_text.py [--out /work/cache/pretrained/bert_sst2_mlm]
        [--time-limit 480]
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = next(
    (p / "shared" / "datasets" for p in HERE.parents if (p / "shared" / "datasets").is_dir()),
    Path("/work/shared/datasets"),
)
DATA = SHARED / "text" / "sst2_train.csv.gz"
OUT = Path("/work/cache/pretrained/bert_sst2_mlm")
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def read_texts(path: Path) -> list[str]:
    import pandas as pd

    if not path.is_file():
        raise SystemExit(f"missing {path}: --data must name SST-2's sst2_train.csv.gz")
    frame = pd.read_csv(path)
    if "text" not in frame.columns:
        raise SystemExit(f"{path} has no 'text' column (columns: {list(frame.columns)})")
    texts = frame["text"].dropna().astype(str).str.strip()
    return list(dict.fromkeys(t for t in texts if t))  # unique, in file order; labels unused


def train_tokenizer(texts: list[str], vocab_size: int):
    """WordPiece on the texts, wrapped as transformers' BertTokenizerFast (same vocabulary,
    BERT's lower-casing pipeline, [CLS] ... [SEP] around each text); checked to split a sample
    of the texts into the same word pieces as the trained tokenizer."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL, show_progress=False
    )
    tok = BertTokenizerFast(vocab=wordpiece.get_vocab(), do_lower_case=True, model_max_length=128)
    for text in texts[:: max(1, len(texts) // 300)]:
        if tok(text, add_special_tokens=False)["input_ids"] != wordpiece.encode(text).ids:
            raise SystemExit(f"BertTokenizerFast encodes {text!r} unlike the trained WordPiece")
    return tok


def batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar lengths (less padding): sort chunks of 50 batches by length."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    out = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [out[i] for i in rng.permutation(len(out))]


def mlm_loss(model, batch):
    """Cross-entropy on the masked positions only (the output layer runs on those alone)."""
    import torch

    hidden = model.bert(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    picked = batch["labels"] != -100
    logits = model.cls(hidden[picked])
    return torch.nn.functional.cross_entropy(logits, batch["labels"][picked])


def eval_loss(model, held_out: list) -> float:
    import torch

    model.eval()
    with torch.inference_mode():
        losses = [(float(mlm_loss(model, b)), int((b["labels"] != -100).sum())) for b in held_out]
    model.train()
    return sum(v * n for v, n in losses) / sum(n for _, n in losses)


def lr_at(progress: float, max_lr: float, warmup: float = 0.05) -> float:
    if progress < warmup:
        return max_lr * progress / warmup
    return 0.5 * max_lr * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))


def train(model, encoded: list, collate, held_out: list, args) -> dict:
    """AdamW on random length-bucketed batches; progress (the larger of the share of planned
    steps done and the share of the time limit spent) drives the schedule and the stop."""
    import torch

    lengths = np.array([len(ids) for ids in encoded])
    rng = np.random.default_rng(args.seed)
    total = args.epochs * math.ceil(len(encoded) / args.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    started, step, running, last_print = time.monotonic(), 0, [], time.monotonic()
    while True:
        for idx in batches(lengths, args.batch_size, rng):
            progress = max(step / total, (time.monotonic() - started) / args.time_limit)
            if progress >= 1:
                return {"steps": step, "epochs": round(step * args.batch_size / len(encoded), 2)}
            for group in opt.param_groups:
                group["lr"] = lr_at(progress, args.lr)
            loss = mlm_loss(model, collate([{"input_ids": encoded[i]} for i in idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            running.append(loss.item())
            if time.monotonic() - last_print > 60:
                last_print = time.monotonic()
                print(
                    f"step {step}: train MLM loss {np.mean(running):.3f} (last {len(running)} "
                    f"steps), held-out {eval_loss(model, held_out):.3f}, "
                    f"{last_print - started:.0f}s",
                    flush=True,
                )
                running = []


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for model and tokenizer")
    parser.add_argument("--data", type=Path, default=DATA, help="sst2_train.csv.gz")
    parser.add_argument("--time-limit", type=float, default=480.0, help="training seconds")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate", type=int, default=512)
    parser.add_argument("--max-length", type=int, default=64, help="tokens kept per sentence")
    parser.add_argument("--epochs", type=int, default=20, help="at most (the time limit rules)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--held-out", type=int, default=1000, help="sentences for the MLM loss")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1: on 2 cores shared with other work, a step took half the "
        "time it took with 2)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    import torch
    import transformers
    from transformers import (
        AutoModel,
        AutoTokenizer,
        BertConfig,
        BertForMaskedLM,
        DataCollatorForLanguageModeling,
    )

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    texts = read_texts(args.data)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(texts))
    held = [texts[i] for i in order[: args.held_out]]
    train_texts = [texts[i] for i in order[args.held_out :]]
    tok = train_tokenizer(train_texts, args.vocab_size)
    tok_s = time.monotonic() - started
    print(f"{len(train_texts)} training sentences, {len(held)} held out; vocabulary {len(tok)}")

    def encode(batch: list[str]) -> list[list[int]]:
        return tok(batch, truncation=True, max_length=args.max_length)["input_ids"]

    encoded = encode(train_texts)
    collate = DataCollatorForLanguageModeling(tok, mlm_probability=0.15, return_tensors="pt")
    torch.manual_seed(args.seed + 1)  # the same masks on the held-out sentences before and after
    held_ids = encode(held)
    held_out = [
        collate([{"input_ids": ids} for ids in held_ids[i : i + 250]])
        for i in range(0, len(held_ids), 250)
    ]
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=args.intermediate,
        max_position_embeddings=128,
        pad_token_id=tok.pad_token_id,
    )
    model = BertForMaskedLM(config)
    start_loss = eval_loss(model, held_out)
    print(f"held-out MLM loss at start: {start_loss:.4f} (ln vocab = {math.log(len(tok)):.2f})")
    train_started = time.monotonic()
    done = train(model, encoded, collate, held_out, args)
    train_s = time.monotonic() - train_started
    end_loss = eval_loss(model, held_out)
    print(
        f"held-out MLM loss at end: {end_loss:.4f} after {done['steps']} steps "
        f"({done['epochs']} epochs), training {train_s:.1f}s"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)  # safetensors
    tok.save_pretrained(args.out)
    encoder = AutoModel.from_pretrained(args.out)  # the encoder alone, as a text family loads it
    same = torch.equal(
        encoder.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight
    )
    if (
        not same
        or AutoTokenizer.from_pretrained(args.out)("a test")["input_ids"]
        != tok("a test")["input_ids"]
    ):
        raise SystemExit(f"{args.out} does not load back as the trained encoder and tokenizer")
    params = sum(p.numel() for p in model.bert.parameters())
    meta = {
        "model": "BertForMaskedLM (AutoModel loads its bert.* encoder)",
        "config": {
            k: getattr(config, k)
            for k in (
                "vocab_size",
                "hidden_size",
                "num_hidden_layers",
                "num_attention_heads",
                "intermediate_size",
                "max_position_embeddings",
            )
        },
        "encoder_parameters": params,
        "data": "SST-2 train sentences (unique texts, labels unused)",
        "train_sentences": len(train_texts),
        "held_out_sentences": len(held),
        "max_length": args.max_length,
        "mlm_loss_start": round(start_loss, 4),
        "mlm_loss_end": round(end_loss, 4),
        "steps": done["steps"],
        "epochs": done["epochs"],
        "batch_size": args.batch_size,
        "threads": args.threads,
        "lr": args.lr,
        "tokenizer_seconds": round(tok_s, 1),
        "train_seconds": round(train_s, 1),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "command": shlex.join([sys.executable, *sys.argv]),
    }
    (args.out / "pretrain.json").write_text(json.dumps(meta, indent=2) + "\n")
    size = sum(p.stat().st_size for p in args.out.iterdir()) / 2**20
    print(f"saved {args.out} ({size:.1f} MiB, encoder {params / 1e6:.2f}M parameters)")


if __name__ == "__main__":
    main()
