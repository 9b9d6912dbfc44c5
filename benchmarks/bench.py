"""`make bench STUDIES="adult sms_spam"`: run study definitions afresh and print one table.

Each named `studies/<name>.toml` runs as a new study `<name>-bench-<time>` (so earlier runs are
not resumed) with its own budget on this machine; the table gives dataset, metric, test score
(and ROC AUC for binary tasks), seconds, trials, pruned share and the chosen model. The rows are
also written to benchmarks/bench-<time>.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd

from automl import studyfile

HERE = Path(__file__).resolve().parents[1] / "studies"  # the study files


def main(names: list[str]) -> int:
    if not names:
        names = sorted(p.stem for p in HERE.glob("*.toml"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for name in names:
        spec = studyfile.read(str(HERE / f"{name}.toml"))
        spec.name = f"{name}-bench-{stamp}"
        row = studyfile.execute(spec, verbose=False, report=False)
        row["study"] = name
        print(json.dumps(row), flush=True)
        rows.append(row)
    table = pd.DataFrame(rows).rename(columns={"study": "dataset"})
    columns = ["dataset", "metric", "score", "roc_auc", "seconds", "trials", "pruned_share",
               "model", "valid"]
    print(table.reindex(columns=[c for c in columns if c in table.columns]).to_string(index=False))
    out = Path(__file__).parent / f"bench-{stamp}.json"
    out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
