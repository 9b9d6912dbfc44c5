"""The README and the docs site: a short README, a strict MkDocs build, runnable examples."""

import json
import os
import subprocess
import sys

import pytest

from tests import ROOT
from tests.docs_blocks import RUNNER, as_json, data_link, pages, python_blocks

PAGES_WITH_CODE = [page for page in pages() if python_blocks(page)]


def test_the_readme_is_a_five_minute_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 220, f"README.md has {len(lines)} lines; move reference material to docs/"


def test_the_readme_quickstart_runs_one_example_per_modality_and_shows_its_output():
    blocks = python_blocks("README.md")
    runnable = [b for b in blocks if b.skip_reason is None]
    assert len(runnable) >= 3  # a table, images, text
    assert all(b.output is not None for b in runnable)


@pytest.mark.slow  # a subprocess per page
@pytest.mark.parametrize("page", PAGES_WITH_CODE)
def test_the_python_examples_of_the_page_run_and_print_what_it_shows(page, tmp_path):
    """Every Python block of the page but those marked '# docs: not run (reason)' runs, in order
    and in one namespace, in a fresh folder (tests/data reachable as from the repository's root);
    a block the page shows output for prints exactly that. Marked blocks must still compile."""
    blocks = python_blocks(page)
    for block in blocks:
        block.check_marks()
        compile(block.code, f"{page}:{block.line}", "exec")  # a not-run block is still Python
    runnable = [b for b in blocks if b.skip_reason is None]
    if not runnable:
        return
    data_link(tmp_path)
    (tmp_path / "blocks.json").write_text(json.dumps(as_json(runnable)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, "blocks.json", "printed.json"],
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    printed = json.loads((tmp_path / "printed.json").read_text(encoding="utf-8"))
    for block, out in zip(runnable, printed, strict=True):
        if block.output is not None:
            assert out.strip() == block.output.strip(), f"{page}:{block.line}"


def test_mkdocs_build_strict_has_no_warnings(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml")]
        + ["-d", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # mkdocs warnings ("WARNING  -  ..."), not the theme's banner
    assert "WARNING -" not in done.stderr, done.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "index.html").read_text().count("doc-") > 50
