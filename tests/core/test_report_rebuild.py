"""`automl report STUDY` never overwrites the richer fit-time report, and the page it rebuilds
says what it leaves out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from automl.cli import main
from tests import DATA as DATA_DIR

DATA = DATA_DIR / "adult_sample.csv"


def _top_not_shown(page: str) -> str:
    """The page-level 'Not shown: ...' line above the sections."""
    [line] = re.findall(r'data-role="not-shown"><b>Not shown: (.*?)\.</b>', page)
    return line


def test_report_keeps_the_fit_time_page_and_writes_beside_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["fit", str(DATA), "--target", "class", "--n-trials", "1", "--quiet"]
    assert main(args) == 0
    page = Path("studies/adult_sample/report.html")
    before = page.read_text()
    assert 'data-role="rebuilt"' not in before
    capsys.readouterr()
    assert main(["report", "studies/adult_sample"]) == 0
    out = capsys.readouterr().out
    assert page.read_text() == before  # the fit-time page is untouched
    rebuilt = Path("studies/adult_sample/report-rebuilt.html")
    assert rebuilt.exists() and f"report: {rebuilt}" in out
    assert "leaves out held-out metrics and explanations" in out
    # the rebuilt page says at its top what it is and what it leaves out
    text = rebuilt.read_text()
    assert "the page written at fit time is report.html beside it" in text
    assert {"held-out metrics", "explanations"} <= set(_top_not_shown(text).split(", "))

    # a second rebuild replaces the rebuilt page; --out never names the fit-time page
    assert main(["report", "studies/adult_sample"]) == 0
    capsys.readouterr()
    assert main(["report", "studies/adult_sample", "--out", str(page)]) == 2
    assert "is a report written at fit time" in capsys.readouterr().err
    assert page.read_text() == before


def test_a_report_replaces_only_its_own_pages(tmp_path):
    """``result.report(path)`` over a file that is not an automl report page (a data file, say)
    is refused and leaves it as it was; over an earlier report page it writes the new one."""
    import math

    import pandas as pd

    from automl.errors import DataError
    from automl.explain import ExplainBounds
    from automl.report.page import is_report_page
    from tests.plugins.tabular.test_explain_tabular import fitted

    result = fitted("adult_hist_gb")
    data = tmp_path / "data.csv"
    pd.DataFrame({"a": [1, 2]}).to_csv(data, index=False)
    before = data.read_bytes()
    with pytest.raises(DataError, match=r"exists and is not an automl report page.*new \.html"):
        result.report(str(data), explain=False)
    assert data.read_bytes() == before
    page = tmp_path / "report.html"
    bounds = ExplainBounds(seconds=math.inf, rows=10, lime_samples=100)
    result.report(str(page), bounds=bounds)
    first = page.read_text(encoding="utf-8")
    assert is_report_page(page)
    result.report(str(page), explain=False)  # an earlier report page is replaced
    assert page.read_text(encoding="utf-8") != first and is_report_page(page)


@pytest.mark.slow  # a subprocess, a browser or a server
def test_both_pages_render_in_chromium_the_rebuilt_one_saying_what_it_leaves_out(
    capsys, tmp_path, monkeypatch
):
    """Items 2 and 3 in a browser: after `automl report`, the fit-time page still shows its
    pictures and the fit's run time (not "0 s"); the rebuilt page beside it says at its top,
    in view, what it is and what it leaves out. No console errors, no broken images."""
    from tests.browser import DevTools, chromium, console_errors, evaluate, open_page, screenshot

    binary = chromium()
    monkeypatch.chdir(tmp_path)
    args = ["fit", str(DATA), "--target", "class", "--n-trials", "2", "--quiet"]
    assert main(args) == 0
    assert main(["report", "studies/adult_sample"]) == 0
    capsys.readouterr()
    probe = """(() => {
      const text = role => document.querySelector(`[data-role=${role}]`)?.innerText || '';
      const top = role => document.querySelector(`[data-role=${role}]`)
        ?.getBoundingClientRect().top ?? -1;
      const card = [...document.querySelectorAll('.card')].find(
        c => c.querySelector('.k')?.textContent.trim() === 'run time');
      const images = [...document.images];
      return {rebuilt: text('rebuilt'), notShown: text('not-shown'), rebuiltTop: top('rebuilt'),
              runTime: card?.querySelector('.v')?.innerText || '', images: images.length,
              broken: images.filter(i => !i.complete || i.naturalWidth === 0).length};
    })()"""
    seen = {}
    for name in ("report.html", "report-rebuilt.html"):
        tools = DevTools(binary, tmp_path / f"profile-{name}")
        try:
            open_page(tools, (Path("studies/adult_sample") / name).resolve().as_uri())
            seen[name] = evaluate(tools, probe)
            screenshot(tools, tmp_path / f"first-hour-{name}.png")
            assert console_errors(tools.events) == [], name
        finally:
            tools.close()
    fit_time, rebuilt = seen["report.html"], seen["report-rebuilt.html"]
    assert fit_time["rebuilt"] == "" and fit_time["broken"] == 0
    assert re.fullmatch(r"[0-9.]+ s", fit_time["runTime"]) and float(fit_time["runTime"][:-2]) > 0
    assert "the page written at fit time is report.html beside it" in rebuilt["rebuilt"]
    assert 0 <= rebuilt["rebuiltTop"] < 900  # in the first screen
    assert "held-out metrics" in rebuilt["notShown"] and "explanations" in rebuilt["notShown"]
    assert rebuilt["broken"] == 0 and fit_time["images"] > rebuilt["images"]
