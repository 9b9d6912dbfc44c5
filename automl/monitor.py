"""Offline drift monitoring: ``result.monitor(new_data, y=None)`` and ``automl monitor``.

New rows are measured by the task's ``InputProfile`` and predicted by the model; every
monitored statistic and the predictions are compared with the reference saved at fit time
(``automl.drift``). The result is a machine-readable summary (JSON, a drift flag per feature)
and a self-contained HTML page (figures embedded as PNG, no scripts, no network) that draws the
reference and the current distribution of each feature side by side.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.drift import NOISE_LEVEL, PSI_THRESHOLD, Comparison, compare, predicted_labels
from automl.errors import DataError
from automl.outputs import check_file


@dataclass
class DriftReport:
    """What ``monitor`` found: ``summary`` (JSON values) and the comparisons behind it."""

    summary: dict[str, Any]
    features: list[Comparison]
    prediction: Comparison

    @property
    def drifted(self) -> list[str]:
        """Names of the features flagged as drifted."""
        return [c.name for c in self.features if c.drifted]

    def write_json(self, path: str) -> str:
        """Write the summary as JSON; returns the path."""
        check_file(path, "the drift summary").write_text(json.dumps(self.summary, indent=2))
        return str(path)

    def write_html(self, path: str) -> str:
        """Write the self-contained HTML drift report; returns the path."""
        check_file(path, "the drift report").write_text(render_html(self), encoding="utf-8")
        return str(path)


def require_reference(result: Any) -> None:
    """Refuse a model without a drift reference, saying why and what to do."""
    if result.drift is None or result.profile is None:
        raise DataError(
            f"this model has no drift reference (task {result.task!r}): it was saved before "
            "automl kept one, or its task measures no input statistics; fit it again to "
            "monitor it"
        )


def monitor(result: Any, data: Any, y: Any = None) -> DriftReport:
    """Compare ``data`` (as ``predict`` takes it) with the training data; with labels ``y``
    also score the model on it."""
    require_reference(result)
    table = result.profile.measure(data)
    if len(table) == 0:
        raise DataError("no rows to monitor: pass at least one row")
    features = result.drift.compare_table(table)
    output = result._output(data)
    prediction = compare(
        result.drift.prediction, result.drift.prediction.count(_predicted(result, output))
    )
    metrics = None
    if y is not None:
        metrics = {k: round(float(v), 6) for k, v in result.evaluate(data, y).items()}
    summary = {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "task": result.task,
        "model": result.describe(),
        "rows": int(len(table)),
        "reference_rows": int(result.drift.rows),
        "statistic": "psi",
        "psi_threshold": PSI_THRESHOLD,
        "noise_level": NOISE_LEVEL,
        "drift": any(c.drifted for c in features),
        "drifted_features": [c.name for c in features if c.drifted],
        "features": [c.to_json() for c in features],
        "prediction": prediction.to_json(),
        "class_priors": result.drift.class_priors,
        "metric": result.metric,
        "validation_score": result.valid_score,
        "metrics": metrics,
    }
    return DriftReport(summary, features, prediction)


def _predicted(result: Any, output: np.ndarray) -> Any:
    """What the prediction reference bins: class names, or regression values."""
    if result.problem_type == "regression":
        return np.asarray(output, dtype=np.float64)
    return predicted_labels(output, [str(c) for c in result.classes_])


# -- the page ------------------------------------------------------------------------------------
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drift report: {{ s.model }}</title><link rel="icon" href="data:,">
<style>
body { margin: 0; color: #202124; line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
header { background: #12263a; color: #fff; padding: 22px 28px; }
header h1 { margin: 0 0 4px; font-size: 1.5rem; } header .sub { color: #c6d3e1; }
main { max-width: 1120px; margin: 0 auto; padding: 10px 28px 40px; }
table { border-collapse: collapse; margin: 8px 0 18px; font-size: .9rem; }
th, td { border-bottom: 1px solid #e3e5e8; padding: 4px 10px; text-align: left; }
.bad { color: #c5221f; font-weight: 600; } .ok { color: #188038; }
.banner { padding: 10px 14px; border-radius: 6px; margin: 16px 0; font-weight: 600; }
.banner.bad { background: #fce8e6; } .banner.ok { background: #e6f4ea; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }
figure { margin: 0; border: 1px solid #e3e5e8; border-radius: 6px; padding: 8px; }
figcaption { font-size: .9rem; margin-bottom: 4px; } img { max-width: 100%; }
</style></head><body>
<header><h1>Drift report</h1>
<div class="sub">{{ s.model }} &middot; task {{ s.task }} &middot; {{ s.rows }} new rows
against {{ s.reference_rows }} training rows &middot; {{ s.created }}</div></header>
<main>
{% if s.drift %}<div class="banner bad" id="verdict">Drift in {{ s.drifted_features|length }}
of {{ s.features|length }} features: {{ s.drifted_features|join(", ") }}</div>
{% else %}<div class="banner ok" id="verdict">No feature drifted</div>{% endif %}
<p>Statistic: population stability index (PSI) per feature over the training bins (deciles of
numbers; levels of categories). A feature drifts when its PSI exceeds {{ s.psi_threshold }} and
what sampling noise alone reaches with probability {{ "%.3f"|format(1 - s.noise_level) }}.</p>
<h2>Features</h2>
<table id="features"><tr><th>feature</th><th>kind</th><th>PSI</th><th>threshold</th>
<th>drift</th></tr>
{% for f in s.features %}<tr><td>{{ f.name }}</td><td>{{ f.kind }}</td>
<td>{{ "%.4f"|format(f.psi) }}</td><td>{{ "%.3f"|format(f.threshold) }}</td>
<td class="{{ 'bad' if f.drift else 'ok' }}">{{ "yes" if f.drift else "no" }}</td></tr>
{% endfor %}</table>
<h2>Predictions</h2>
<p>PSI of the predicted {{ "values" if s.prediction.kind == "numeric" else "classes" }}
against the model's predictions on the held-out rows at fit time:
<b class="{{ 'bad' if s.prediction.drift else 'ok' }}">{{ "%.4f"|format(s.prediction.psi) }}
({{ "drift" if s.prediction.drift else "no drift" }})</b>.</p>
<div class="grid"><figure><figcaption>prediction</figcaption>
<img alt="prediction" src="{{ prediction_img }}"></figure></div>
{% if s.metrics %}<h2>Metrics on the labelled rows</h2><table id="metrics">
{% for k, v in s.metrics.items() %}<tr><td>{{ k }}</td><td>{{ "%.4f"|format(v) }}</td></tr>
{% endfor %}</table><p>Validation {{ s.metric }} at fit time:
{{ "%.4f"|format(s.validation_score) }}.</p>{% endif %}
<h2>Distributions</h2><div class="grid">
{% for f, img in figures %}<figure><figcaption>{{ f.name }}: PSI {{ "%.3f"|format(f.psi) }}
{% if f.drift %}<span class="bad">drift</span>{% endif %}</figcaption>
<img alt="{{ f.name }}" src="{{ img }}"></figure>
{% endfor %}</div>
</main></body></html>
"""


def render_html(report: DriftReport) -> str:
    """The report as one HTML page."""
    import jinja2

    env = jinja2.Environment(autoescape=True)
    figures = [(c.to_json(), _bars(c)) for c in report.features]
    return env.from_string(PAGE).render(
        s=report.summary, figures=figures, prediction_img=_bars(report.prediction)
    )


def _bars(c: Comparison) -> str:
    """Reference and current shares per bin, side by side."""
    from automl.report.figures import _figure, _style, to_uri

    keep = [i for i, (r, q) in enumerate(zip(c.reference, c.current)) if r > 0 or q > 0]
    keep = keep or [0]
    fig = _figure(4.2, 2.4)
    ax = fig.add_subplot()
    x = np.arange(len(keep))
    ax.bar(x - 0.2, [c.reference[i] for i in keep], 0.4, label="training", color="#9aa0a6")
    colour = "#e8384f" if c.drifted else "#1e88e5"
    ax.bar(x + 0.2, [c.current[i] for i in keep], 0.4, label="current", color=colour)
    ax.set_xticks(x, [_short(c.bins[i]) for i in keep], rotation=45, ha="right", fontsize=6)
    ax.set_ylabel("share of rows")
    ax.legend(fontsize=7, frameon=False)
    _style(ax)
    return to_uri(fig).src


def _short(text: str, width: int = 18) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
