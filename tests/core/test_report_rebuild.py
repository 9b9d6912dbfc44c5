"""`automl report STUDY` never overwrites the richer fit-time report."""

from __future__ import annotations

from pathlib import Path

from automl.cli import main
from tests import DATA as DATA_DIR

DATA = DATA_DIR / "adult_sample.csv"


def test_report_keeps_the_fit_time_page_and_writes_beside_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["fit", str(DATA), "--target", "class", "--n-trials", "1", "--quiet"]
    assert main(args) == 0
    page = Path("studies/adult_sample/report.html")
    before = page.read_text()
    capsys.readouterr()
    assert main(["report", "studies/adult_sample"]) == 0
    out = capsys.readouterr().out
    assert page.read_text() == before  # the fit-time page is untouched
    rebuilt = Path("studies/adult_sample/report-rebuilt.html")
    assert rebuilt.exists() and f"report: {rebuilt}" in out
    assert "leaves out held-out metrics and explanations" in out
