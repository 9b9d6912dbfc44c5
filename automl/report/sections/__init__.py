"""What each section of the report shows, as plain dicts for the template.

Every section is built on its own and guarded (``guard``): a part that cannot be drawn becomes a
note saying why (``missing``), never a missing page. One module a section: ``data``, ``search``
(with ``importances`` and ``pruning``) and ``model`` (with ``holdout``); ``formatting``,
``origin`` and ``units`` are the wording they share. Nothing here is modality-specific: data
facts come from ``result.summary``; the explanations section is ``automl.report.explanations``.
"""

from automl.report.sections.data import data_section
from automl.report.sections.formatting import fmt, run_time, score
from automl.report.sections.guard import guarded, guarded_text
from automl.report.sections.model import model_section
from automl.report.sections.origin import score_origin
from automl.report.sections.search import search_section

__all__ = [
    "data_section",
    "fmt",
    "guarded",
    "guarded_text",
    "model_section",
    "run_time",
    "score",
    "score_origin",
    "search_section",
]
