"""The test suite, a package so that its modules import each other and their helpers by full
name (``from tests.browser import chromium``) whatever the rootdir or working folder.

Layout: ``core/`` tests the automl package, ``plugins/<plugin>/`` one built-in plugin; shared
fixtures are in ``conftest.py``, helpers in ``browser.py`` (headless Chromium) and
``deploy_models.py`` (small saved models), small data sets in ``data/`` and a pip-installable
third-party plugin in ``plugin_pkg/``.
"""

from pathlib import Path

TESTS = Path(__file__).parent
DATA = TESTS / "data"
ROOT = TESTS.parent  # the repository: README.md, pyproject.toml
