"""The documentation site in a browser: built strict, served on 127.0.0.1, opened in headless
Chromium; its pages render with navigation and a working search, and ask no other host."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from tests import ROOT
from tests.browser import DevTools, chromium, console_errors, evaluate, open_page, screenshot

pytestmark = pytest.mark.slow  # a build, a server and a browser

# what a page shows: its title, the site's navigation, the search box, the article's heading
PROBE = """(() => ({
  title: document.title,
  nav: [...document.querySelectorAll('nav.md-nav--primary a.md-nav__link')]
         .map(a => a.innerText.trim()).filter(Boolean),
  search: !!document.querySelector('input.md-search__input'),
  heading: document.querySelector('article h1')?.innerText || '',
  width: document.querySelector('article')?.getBoundingClientRect().width || 0,
}))()"""

SEARCH = """(() => {
  const box = document.querySelector('input.md-search__input');
  box.focus();
  box.value = %r;
  box.dispatchEvent(new Event('input', {bubbles: true}));
  box.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true, key: 'e'}));
})()"""

RESULTS = """[...document.querySelectorAll('.md-search-result__item a')].map(a => a.href)"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site, served on 127.0.0.1: its base URL."""
    folder = tmp_path_factory.mktemp("docs") / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml")]
        + ["-d", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]
        + ["--directory", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 40123 (http://...) ..."
        port = re.search(r"port (\d+)", line)
        assert port, f"http.server said {line!r}"
        yield f"http://127.0.0.1:{port[1]}/"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _requests(tools: DevTools) -> list[str]:
    return [
        e["params"]["request"]["url"]
        for e in tools.events
        if e["method"] == "Network.requestWillBeSent"
    ]


def _search(tools: DevTools, query: str, timeout: float = 30) -> list[str]:
    """The result links the page's search lists for ``query`` (its index loads in a worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        evaluate(tools, SEARCH % query)
        time.sleep(0.5)
        found = evaluate(tools, RESULTS)
        if found:
            return found
    return []


@pytest.mark.parametrize(
    ("path", "heading", "query", "found"),
    [
        ("", "automl", "plugin", "plugins/"),
        ("guide/fit-options/", "fit options", "time_budget", "guide/fit-options/"),
    ],
)
def test_a_page_renders_with_navigation_and_search_and_asks_no_other_host(
    site, tmp_path, path, heading, query, found
):
    tools = DevTools(chromium(), tmp_path / "profile")
    try:
        open_page(tools, site + path)
        state = evaluate(tools, PROBE)
        results = _search(tools, query)
        screenshot(tools, tmp_path / f"docs-{path.strip('/').replace('/', '-') or 'home'}.png")
        requests, errors = _requests(tools), console_errors(tools.events)
    finally:
        tools.close()
    assert state["heading"].lower().startswith(heading.lower()), state
    assert {"Home", "Plugin author's guide", "API reference"} <= set(state["nav"]), state["nav"]
    assert state["search"] and state["width"] > 400, state
    assert any(link.split("#")[0].endswith(found) for link in results), (query, results)
    # Material's Google Fonts are off (theme.font: false): every request stays on the site
    hosts = {urlsplit(url).netloc for url in requests if urlsplit(url).scheme in ("http", "https")}
    assert hosts == {urlsplit(site).netloc}, sorted(requests)
    assert not errors, errors
