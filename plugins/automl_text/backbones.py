"""Pretrained text backbones (``fit(pretrained=...)``): Hugging Face models in their own format,
found and checked in ``adapt``, before any training.

A name is a local folder (``AutoConfig`` + ``AutoModel`` weights + ``AutoTokenizer`` files, as
``save_pretrained`` writes them) or a model id on the Hugging Face hub, read from the hub's
cache (``HF_HOME``/``HF_HUB_CACHE``) and downloaded only where the network is allowed
(``HF_HUB_OFFLINE`` unset); offline and not cached, the error names the id, the cache folder
and the two fixes. Each backbone is loaded once here: a folder that is missing or unreadable,
has no tokenizer, or holds weights that do not fit its config is a ``DataError`` naming it.
Needs the ``transformers`` extra (``pip install 'automl-nn[transformers]'``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from automl.plugin import DataError, ParameterError, PluginError

EXTRA = "pip install 'automl-nn[transformers]'"
# what the hub download fetches of a model id: its config, weights and tokenizer files
HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "merges.txt"]
# keys a checkpoint may lack without the model being wrong (the unused pooler, position ids)
OPTIONAL_KEYS = ("pooler", "position_ids")


def require_transformers() -> Any:
    """The ``transformers`` module, or a ``PluginError`` naming the extra to install."""
    try:
        import transformers
    except ImportError:
        raise PluginError(
            "pretrained= for text fine-tunes Hugging Face models, which needs the "
            f"'transformers' package: {EXTRA}"
        ) from None
    return transformers


@contextlib.contextmanager
def quiet_loading():
    """Hugging Face's loading progress bars and load reports off (our checks report instead)."""
    from transformers.utils import logging

    bars = logging.is_progress_bar_enabled()
    level = logging.get_verbosity()
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            logging.enable_progress_bar()


def offline() -> bool:
    """Whether the hub may not be reached (``HF_HUB_OFFLINE``, read now, not at import)."""
    flag = os.environ.get("HF_HUB_OFFLINE", "")
    if flag.strip().lower() in ("1", "true", "yes", "on"):
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _looks_like_path(name: str) -> bool:
    return (
        os.path.isabs(name)
        or name.startswith((".", "~"))
        or "\\" in name
        or name.count("/") > 1
        or Path(name).exists()
    )


def locate(name: str) -> Path:
    """The local folder of backbone ``name``: the folder itself, or the hub cache's snapshot of
    a model id (downloaded first where the network is allowed)."""
    if _looks_like_path(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise DataError(
                f"pretrained backbone {name!r}: no such folder; pass a folder in Hugging Face "
                "format (config.json, the weights and the tokenizer files, as save_pretrained "
                "writes them) or a model id on the Hugging Face hub"
            )
        return folder.resolve()
    from huggingface_hub import constants, snapshot_download

    try:
        return Path(snapshot_download(name, local_files_only=True))
    except Exception:
        if offline():
            raise DataError(
                f"pretrained backbone {name!r} is not in the Hugging Face cache "
                f"({constants.HF_HUB_CACHE}) and the hub may not be reached (HF_HUB_OFFLINE "
                "is set): download it once where the network is allowed (e.g. "
                f"`hf download {name}`, or a fit without HF_HUB_OFFLINE), or pass a local "
                "folder holding the model (save_pretrained)"
            ) from None
    try:
        return Path(snapshot_download(name, allow_patterns=HUB_FILES))
    except Exception as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"pretrained backbone {name!r} is not in the Hugging Face cache "
            f"({constants.HF_HUB_CACHE}) and could not be downloaded ({why}): download it "
            "once where the network is allowed, or pass a local folder holding the model"
        ) from None


def load_tokenizer(folder: Path, name: str) -> Any:
    """The backbone's own tokenizer; a DataError when the folder holds none."""
    from transformers import AutoTokenizer

    try:
        with quiet_loading():
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:
        raise DataError(
            f"pretrained backbone {name!r} ({folder}): its tokenizer does not load "
            f"({_first_line(exc)}); the folder must hold the tokenizer's files "
            "(tokenizer.save_pretrained(folder))"
        ) from None
    specials = set(getattr(tokenizer, "all_special_tokens", []))
    if len(tokenizer) <= len(specials):
        raise DataError(
            f"pretrained backbone {name!r} ({folder}) has no tokenizer: no vocabulary beyond "
            f"the special tokens {sorted(specials)}; save the model's tokenizer into the folder "
            "(tokenizer.save_pretrained(folder))"
        )
    if tokenizer.pad_token_id is None:
        raise DataError(
            f"pretrained backbone {name!r} ({folder}): its tokenizer has no padding token, "
            "needed to batch texts; set one (tokenizer.pad_token = ...) and save it again"
        )
    return tokenizer


def load_encoder(folder: Path, name: str) -> Any:
    """The backbone's encoder (``AutoModel``) with the folder's weights, every one fitting its
    config; a DataError naming what does not."""
    from transformers import AutoModel

    try:
        with quiet_loading():
            model, info = AutoModel.from_pretrained(
                str(folder), local_files_only=True, output_loading_info=True
            )
    except Exception as exc:
        raise DataError(
            f"pretrained backbone {name!r} ({folder}) does not load as a Hugging Face model "
            f"({_first_line(exc)}): its weights must fit its config.json"
        ) from None
    missing = [k for k in info.get("missing_keys", ()) if not any(p in k for p in OPTIONAL_KEYS)]
    wrong = list(info.get("mismatched_keys", ()))
    if missing or wrong:
        shown = sorted(map(str, missing or wrong))[:5]
        raise DataError(
            f"pretrained backbone {name!r} ({folder}): its weights do not fit its config "
            f"({'missing' if missing else 'mismatched'}: {shown}); pass the folder the model "
            "was saved to whole (model.save_pretrained(folder))"
        )
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def max_positions(config: Any, tokenizer: Any) -> int:
    """The longest sequence the backbone reads (its position table, its tokenizer's limit)."""
    limits = [
        getattr(config, key, None)
        for key in ("max_position_embeddings", "n_positions", "max_seq_length")
    ]
    known = [int(v) for v in limits if isinstance(v, int) and v > 0]
    model_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(model_max, int) and 0 < model_max < 1_000_000:
        known.append(model_max)
    longest = min(known) if known else 512
    # RoBERTa-style position tables keep two rows for padding offsets
    return (
        longest - 2 if getattr(config, "model_type", "") in ("roberta", "xlm-roberta") else longest
    )


def resolve(pretrained: Any) -> list[dict[str, Any]]:
    """What the text families need to know of each named backbone: its name, folder, the
    longest sequence it reads, its width and number of layers. Errors before any training."""
    require_transformers()
    out = []
    for name, weights in pretrained:
        if weights is not None:
            raise ParameterError(
                f"pretrained backbone {name!r}={weights!r}: a text backbone is a Hugging Face "
                "model (an id on the hub or a local folder holding config, weights and "
                "tokenizer); a separate weights file is not read: save the model with "
                "save_pretrained into a folder and pass the folder"
            )
        folder = locate(str(name))
        tokenizer = load_tokenizer(folder, name)
        encoder = load_encoder(folder, name)
        config = encoder.config
        if len(tokenizer) > int(getattr(config, "vocab_size", len(tokenizer))):
            raise DataError(
                f"pretrained backbone {name!r} ({folder}): its tokenizer's vocabulary "
                f"({len(tokenizer)}) is larger than the model's embeddings "
                f"({config.vocab_size}): the tokenizer is not this model's"
            )
        out.append(
            {
                "name": str(name),
                "path": str(folder),
                "max_positions": max_positions(config, tokenizer),
                "hidden": int(getattr(config, "hidden_size", 0) or 0),
                "layers": int(getattr(config, "num_hidden_layers", 0) or 0),
                "parameters": int(sum(p.numel() for p in encoder.parameters())),
            }
        )
    return out
