"""automl.explain, the entry point: its arguments and bounds, a task without an explainer named,
and `import automl` staying light. The explainers themselves are tested with their plugins
(tests/plugins/<plugin>/test_explain_<plugin>.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from automl.explain import ExplainBounds, ExplainError, explain
from tests.plugins.tabular.test_explain_tabular import fitted


def test_a_task_without_an_explainer_is_named(monkeypatch):
    from automl_tabular.task import TabularTask

    monkeypatch.setattr(TabularTask, "explainer", lambda self: None)
    with pytest.raises(ExplainError, match=r"task 'tabular' .*provides no explainer"):
        explain(fitted("diabetes"), method="shap")


def test_bad_arguments():
    result = fitted("diabetes")
    with pytest.raises(ValueError, match="method must be one of"):
        explain(result, method="anchors")
    with pytest.raises(TypeError, match=r"unknown explanation bound\(s\) \['rowz'\]"):
        explain(result, rowz=3)
    assert ExplainBounds().background == 100 and ExplainBounds().examples is None
    from automl_tabular.explain import TabularExplainer

    assert TabularExplainer.examples == 3  # examples=None: the explainer's own choice


@pytest.mark.slow  # a subprocess, a browser or a server
def test_import_automl_stays_light():
    code = (
        "import sys, automl, automl.explain, automl.report; "
        "heavy = [m for m in ('matplotlib', 'shap', 'lime', 'jinja2', 'torch') "
        "if m in sys.modules]; print(heavy); assert not heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
