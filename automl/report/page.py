"""The report page: the sections put together and rendered with the template, written whole.

``automl.report`` re-exports ``render_report`` and ``write_report`` from here. The sections,
the explanations and jinja2 are imported when a page is made, not when ``automl.report`` is.
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import os
import time
from collections.abc import Callable
from typing import Any

from automl.errors import DataError, check_keywords
from automl.outputs import check_file

TEMPLATE = "template.html.j2"
# the mark of a page that `automl report` rebuilt from a saved model: such a page may be replaced,
# a page written at fit time (richer: held-out metrics, explanations) never is
REBUILT_MARK = '<meta name="automl-report" content="rebuilt">'


GENERATOR_MARK = '<meta name="generator" content="automl'  # in every page's <head>


def is_report_page(path: str | os.PathLike[str]) -> bool:
    """Whether the file at ``path`` is an automl report page (one the report may replace)."""
    with open(path, encoding="utf-8", errors="replace") as page:
        return GENERATOR_MARK in page.read(4096)


def is_rebuilt_page(path: str | os.PathLike[str]) -> bool:
    """Whether the report page at ``path`` was rebuilt from a saved model (see REBUILT_MARK)."""
    with open(path, encoding="utf-8", errors="replace") as page:
        return REBUILT_MARK in page.read(4096)  # the mark is in the page's <head>


def _timed_page(render: Callable[..., str]) -> Callable[..., str]:
    """Render inside ``figures.timed_page``: the page's explanations keep time for their
    figures at the pace of the figures drawn before them on the same page."""

    @functools.wraps(render)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        from automl.report import figures

        with figures.timed_page():
            return render(*args, **kwargs)

    return wrapper


@_timed_page
def render_report(
    result: Any,
    *,
    holdout: tuple[Any, Any] | None = None,
    explain: bool | str = True,
    explain_budget_s: float | None = None,
    bounds: Any = None,
    explainer: Any = None,
    on_stage: Any = None,
    rebuilt: str | None = None,
) -> str:
    """The report page for ``result`` as an HTML string (``write_report`` writes it to a file).

    ``holdout``: (model-ready x, encoded y) to score and explain; default ``result.holdout``.
    ``explain=False`` (or a string: the reason, shown) leaves explanations out.
    ``explain_budget_s``: seconds for explanations (default: 10% of the run's time or 60 s,
    whichever is larger; ``fit`` gives what is left of its time budget); ``bounds``: an
    ``ExplainBounds`` for finer caps. ``explainer`` overrides the task's explainer.
    ``on_stage``: called with "explanations", then "report", as the page's parts begin (fit's
    progress bar). ``rebuilt``: how this page was rebuilt from a saved model, shown at its top; it
    marks the page as one that ``automl report`` may replace (``is_rebuilt_page``).
    """
    import jinja2

    from automl import __version__
    from automl.explain import ExplainBounds, default_seconds
    from automl.report import explanations, sections  # here: they import automl.report

    started = time.monotonic()
    bounds = bounds or ExplainBounds()
    if explain_budget_s is not None:
        bounds = bounds.with_(seconds=float(explain_budget_s))
    elif bounds.seconds is None:
        bounds = bounds.with_(seconds=default_seconds(result))
    if holdout is None:
        holdout = result.holdout
    if explain is True and holdout is not None:
        explanations.prepare_ahead(result, explainer)  # while the sections below are drawn
    data = sections.guarded(sections.data_section, result)
    search = sections.guarded(sections.search_section, result)
    model = sections.guarded(sections.model_section, result, holdout)
    if isinstance(explain, str):  # the reason they are left out (fit: the budget is spent)
        explained = {"missing": [("explanations", explain)]}
    elif explain:
        if on_stage is not None:
            on_stage("explanations")
        explained = sections.guarded(
            explanations.explain_section, result, holdout, bounds, explainer=explainer
        )
    else:
        explained = {"missing": [("explanations", "turned off (explain=False)")]}
    if on_stage is not None:
        on_stage("report")
    context = {
        "title": f"automl report: {result.study_name or result.task}",
        "study": result.study_name,
        "generated": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "version": __version__,
        "headline": [
            ("task", f"{result.task} · {result.problem_type}", ""),
            ("model", result.model_name, ""),
            (
                f"{result.metric} in the search",
                sections.score(result.valid_score),
                sections.guarded_text(sections.score_origin, result),
            ),
            ("run time", sections.run_time(result.timings), ""),
        ],
        "data": data,
        "search": search,
        "model": model,
        "explain": explained,
        "rebuilt": rebuilt,
        "rebuilt_mark": REBUILT_MARK,
        # every section's left-out parts, named once at the top of the page
        "not_shown": [
            part
            for section in (data, search, model, explained)
            for part, _ in section.get("missing", [])
        ],
    }
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("automl.report", "."),
        autoescape=jinja2.select_autoescape(("html", "j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: f"{100 * v:.1f}%"
    context["render_seconds"] = f"{time.monotonic() - started:.1f}"
    try:
        return env.get_template(TEMPLATE).render(**context)
    except Exception as exc:  # the template itself failed: still a page, saying so
        return _fallback_page(context["title"], exc)


def write_report(result: Any, path: str | os.PathLike[str], **options: Any) -> str:
    """Write the report page of ``result`` to ``path`` (folders made as needed); returns the path.

    ``options``: ``render_report``'s keywords (holdout, explain, explain_budget_s, bounds,
    explainer, on_stage, rebuilt).
    """
    check_keywords(render_report, options, "the report")
    target = check_file(path, "the report")
    if target.is_file() and not is_report_page(target):
        raise DataError(
            f"cannot write the report to {target}: the file exists and is not an automl report "
            "page (the report replaces only its own pages); name a new .html file, or move "
            "that file away first"
        )
    page = render_report(result, **options)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # whole page or none
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return str(target)


def _fallback_page(title: str, exc: BaseException) -> str:
    why = html.escape(f"{type(exc).__name__}: {exc}")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f'{GENERATOR_MARK}">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='missing'>The report template failed to render: {why}</p></body></html>"
    )
