"""`automl report STUDY` never overwrites the richer fit-time report, and the page it rebuilds
says what it leaves out."""

from __future__ import annotations

import re
from pathlib import Path

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
