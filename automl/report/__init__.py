"""One self-contained HTML page per search: the data, the search, the chosen model and SHAP and
LIME explanations of it.

``write_report(result, path)`` writes the page (``fit`` writes ``studies/<study>/report.html``);
``render_report(result)`` returns it as a string. The page is one file that opens offline: the
figures are base64 PNGs inside it, there are no scripts and no web fonts. Every part that cannot
be drawn (no held-out rows, an explainer that fails, a model without probabilities ...) is
replaced by a note saying why, so a page is always written; the top of the page names them all.
``is_rebuilt_page(path)``: whether a page was rebuilt from a saved model (``automl report``), so
that it may be replaced; a fit-time page never is.

Explanations run under a budget: by default 10% of the run's time or 60 s, whichever is larger
(``explain_budget_s``); ``bounds`` (an ``automl.explain.ExplainBounds``) caps background rows,
explained rows, samples and the rest. jinja2 and matplotlib load only when a report is made.
"""

from automl.report.page import is_rebuilt_page, render_report, write_report

__all__ = ["is_rebuilt_page", "render_report", "write_report"]
