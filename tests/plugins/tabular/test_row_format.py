"""A table's served row (``automl serve``'s /docs): each input column typed as the fitted
preprocessor reads it, with an example value that the preprocessor reads back."""

from __future__ import annotations

import numpy as np
import pandas as pd
from automl_tabular.preprocessing import TabularPreprocessor
from automl_tabular.row_format import row_format


def test_each_kind_of_column_gets_its_json_type_and_example():
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame(
        {
            "age": rng.integers(20, 60, n),
            "city name": rng.choice(["Oslo", "Lima", "Pune"], n),
            "joined": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "constant": ["same"] * n,
        }
    )
    pre = TabularPreprocessor().fit(frame)
    fmt = row_format(pre)
    fields = {f.name: f for f in fmt.fields}
    assert list(fields) == ["age", "city name", "joined", "constant"]  # all must be sent
    assert fmt.record and fmt.by_columns
    age, city, joined, constant = fields.values()
    assert (age.type, age.nullable, age.examples) == (
        "number",
        True,
        (int(np.median(frame["age"])),),
    )
    assert city.type == "string" and set(city.examples) == {"Lima", "Oslo", "Pune"}
    assert "seen at fit: Lima, Oslo, Pune" in city.description
    assert (joined.type, joined.format) == ("string", "date")
    assert joined.examples == (frame["joined"].iloc[n // 2 - 1],)  # the median date
    assert constant.type is None and "not read" in constant.description

    example = pd.DataFrame([{f.name: f.examples[0] for f in fmt.fields}])
    assert np.isfinite(pre.transform(example)).all()
