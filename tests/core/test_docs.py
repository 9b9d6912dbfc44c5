"""The README and the docs site: a short README, a strict MkDocs build, runnable examples."""

import re
import subprocess
import sys

import pytest

from tests import ROOT

# a docs code block that cannot run here (a network, a server, data not in the repository) says so
# on its first line; the README's quickstart blocks must all run
SKIP_MARK = "# docs: not run"
QUICKSTART_PAGES = ["README.md"]


def _python_blocks(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _expected_outputs(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    return re.findall(r"```python\n.*?```\s*\nOutput:\s*\n\s*```text\n(.*?)```", text, flags=re.S)


def test_the_readme_is_a_five_minute_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 220, f"README.md has {len(lines)} lines; move reference material to docs/"


@pytest.mark.parametrize("page", QUICKSTART_PAGES)
def test_the_quickstart_examples_run_and_print_what_the_page_shows(page):
    blocks = _python_blocks(page)
    outputs = _expected_outputs(page)
    assert len(blocks) >= 3 and len(outputs) == len(blocks)  # one per modality, each with output
    for block, expected in zip(blocks, outputs, strict=True):
        assert not block.startswith(SKIP_MARK)
        done = subprocess.run(
            [sys.executable, "-c", block],
            cwd=ROOT,  # the examples read the repository's samples by relative path
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip() == expected.strip(), block


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
