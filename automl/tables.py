"""Reading a table file (CSV, TSV, Parquet; gzip-compressed CSV/TSV): one helper for the core and
every plugin that takes a path to a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl.errors import DataError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet", ".pq")


def is_table_path(obj: Any) -> bool:
    """A str or Path naming a table file by its suffix (it may not exist)."""
    return isinstance(obj, (str, Path)) and str(obj).lower().endswith(TABLE_SUFFIXES)


def read_table(path: str | Path, nrows: int | None = None) -> Any:
    """The table at ``path`` as a DataFrame (its first ``nrows`` rows when given); a missing or
    unreadable file raises DataError naming it."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path)
            return frame if nrows is None else frame.head(nrows)
        return pd.read_csv(path, sep="\t" if ".tsv" in name else ",", nrows=nrows)
    except ImportError as exc:
        raise DataError(f"cannot read {path}: {exc}; install pyarrow for Parquet files") from None
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"cannot read {path} as a table: {exc}".splitlines()[0]) from None
