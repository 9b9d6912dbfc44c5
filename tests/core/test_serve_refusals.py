"""What ``automl serve`` refuses, and how: labels that are not finite numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.deploy_models import Server, records, regression_model


def test_regression_feedback_refuses_labels_that_are_not_finite_numbers():
    result, folder, (x, y) = regression_model()
    with Server(folder) as server:
        status, body = server.post("/predict", {"rows": records(x)})
        assert status == 200
        ids = body["ids"]
        # NaN and Infinity are what Python's json.dumps writes for float nan / inf; 1e39 is
        # over float32's range; "NaN" is a string float() reads
        for label in [float("nan"), float("inf"), float("-inf"), 1e39, "NaN"]:
            items = [{"id": ids[0], "label": 1.0}, {"id": ids[1], "label": label}]
            status, answer = server.post("/feedback", {"items": items})
            assert status == 422, answer
            assert "item 1" in answer["error"] and "finite" in answer["error"]
        items = [{"id": i, "label": float(v)} for i, v in zip(ids, y)]
        assert server.post("/feedback", {"items": items})[0] == 200
        metrics = server.metrics()
    assert metrics["automl_live_labelled_rows"] == len(y)  # the refused batches added nothing
    assert metrics["automl_live_mae"] == pytest.approx(
        float(np.abs(result.predict(x) - y).mean()), rel=1e-4
    )
    assert metrics['automl_request_errors_total{endpoint="/feedback",status="422"}'] == 5
