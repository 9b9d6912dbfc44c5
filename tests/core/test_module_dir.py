"""``dir(automl)`` lists the lazily imported public names (tab completion reads it)."""

import subprocess
import sys


def test_dir_lists_the_lazy_public_names_before_they_are_imported():
    code = "import automl; print(' '.join(dir(automl)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names = set(out.stdout.split())
    for name in (
        "load",
        "fit",
        "make_metric",
        "AutoMLClassifier",
        "AutoMLRegressor",
        "list_plugins",
    ):
        assert name in names, name
