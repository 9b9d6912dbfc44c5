"""The Python code blocks of a Markdown page (README.md, docs/**/*.md), for the suite to run.

A block runs unless its first line is ``# docs: not run (reason)``: one that needs a network, a
GPU, PostgreSQL workers, files the repository does not have or a long budget. A block directly
followed by ``Output:`` and a ```` ```text ```` block must print exactly that.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests import ROOT

SKIP_MARK = "# docs: not run"
_SKIP = re.compile(r"# docs: not run \((?P<why>[^)]+)\)\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")


@dataclass(frozen=True)
class Block:
    page: str  # the page's path from the repository's root
    line: int  # the line of the block's first code line on the page (1-based)
    code: str
    output: str | None  # what the page shows it prints, if it shows that

    @property
    def skip_reason(self) -> str | None:
        """Why the block is not run: the reason of its ``# docs: not run (...)`` first line."""
        first = self.code.split("\n", 1)[0]
        found = _SKIP.match(first)
        if first.startswith(SKIP_MARK) and not found:
            raise ValueError(
                f"{self.page}:{self.line - 1}: write the mark as '{SKIP_MARK} (reason)', saying "
                "why the block cannot run here"
            )
        return found["why"] if found else None

    def check_marks(self) -> None:
        """A skip mark anywhere but on the first line would be silently ignored: refuse it."""
        self.skip_reason  # noqa: B018 (its check)
        later = [i for i, text in enumerate(self.code.splitlines()) if SKIP_MARK in text and i]
        if later:
            raise ValueError(
                f"{self.page}:{self.line + later[0]}: '{SKIP_MARK}' works only as the block's "
                "first line; move it there"
            )


def pages() -> list[str]:
    """README.md and every page of docs/, as paths from the repository's root."""
    found = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))
    return ["README.md", *found]


def _fences(page: str) -> list[tuple[str, int, str, int]]:
    """Each fenced block of ``page``: (language, first code line, code, line after the fence)."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    fences, i = [], 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        start = i + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"{page}:{i + 1}: a code block that is never closed")
        code = textwrap.dedent("\n".join(lines[start:end]))
        fences.append((opened["lang"], start + 1, code + "\n", end + 1))
        i = end + 1
    return fences


def python_blocks(page: str) -> list[Block]:
    """The ```` ```python ```` blocks of ``page`` in order, each with the output the page shows."""
    fences = _fences(page)
    text = (ROOT / page).read_text(encoding="utf-8").splitlines()
    blocks = []
    for n, (lang, line, code, after) in enumerate(fences):
        if lang != "python":
            continue
        output = None
        if n + 1 < len(fences) and fences[n + 1][0] == "text":
            between = "\n".join(text[after : fences[n + 1][1] - 2]).strip()
            if between == "Output:":
                output = fences[n + 1][2]
        blocks.append(Block(page, line, code, output))
    return blocks


# Runs a page's blocks in order in one namespace (argv: a JSON file of blocks, the file for what
# each printed); a block's lines keep their page line numbers in tracebacks.
RUNNER = """
import contextlib, io, json, sys, traceback
blocks = json.load(open(sys.argv[1], encoding="utf-8"))
namespace = {"__name__": "__main__"}
printed = []
for block in blocks:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = compile("\\n" * (block["line"] - 1) + block["code"], block["page"], "exec")
            exec(code, namespace)
    except BaseException:
        sys.stderr.write(out.getvalue())
        traceback.print_exc()
        sys.exit(f"the block at {block['page']}:{block['line']} failed")
    printed.append(out.getvalue())
    json.dump(printed, open(sys.argv[2], "w", encoding="utf-8"))
"""


def as_json(blocks: list[Block]) -> list[dict]:
    return [{"page": b.page, "line": b.line, "code": b.code} for b in blocks]


def data_link(folder: Path) -> None:
    """``folder/tests/data``: the repository's samples, where the examples read them (as from
    the repository's root)."""
    (folder / "tests").mkdir(exist_ok=True)
    (folder / "tests" / "data").symlink_to(ROOT / "tests" / "data", target_is_directory=True)
