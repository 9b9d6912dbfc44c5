"""``pretrained=``: one setting of fit, the CLI, study files and the estimators; the task says
what its names mean (here: the tabular task, which has no backbones, refuses it)."""

from pathlib import Path

import pytest
from sklearn.datasets import load_iris

import automl
from automl.errors import ParameterError, PluginError
from automl.options import check_pretrained, pretrained_flag
from automl.settings import BY_NAME


def test_forms_normalise_to_name_weights_pairs():
    assert check_pretrained(None) is None
    assert check_pretrained("resnet18") == (("resnet18", None),)
    assert check_pretrained(Path("models/bert")) == (("models/bert", None),)
    assert check_pretrained(["resnet18", "convnext_tiny"]) == (
        ("resnet18", None),
        ("convnext_tiny", None),
    )
    assert check_pretrained({"resnet18": Path("r18.pth")}) == (("resnet18", "r18.pth"),)
    assert check_pretrained(pretrained_flag("resnet18=r18.pth, vit_b_16")) == (
        ("resnet18", "r18.pth"),
        ("vit_b_16", None),
    )


@pytest.mark.parametrize("bad", [3, [], [""], {"resnet18": 3}, ["a", "a"], [("a", "b", "c")]])
def test_bad_forms_are_refused_naming_the_setting(bad):
    with pytest.raises(ParameterError, match="pretrained"):
        check_pretrained(bad)


def test_declared_for_every_entry_point():
    s = BY_NAME["pretrained"]
    assert s.cli is not None and s.cli.spelling == "--pretrained"
    assert s.study_key == "pretrained" and s.estimator and s.kept


def test_a_task_without_backbones_refuses_it_before_searching():
    x, y = load_iris(return_X_y=True)
    with pytest.raises(ParameterError, match="tabular task has no pretrained backbones"):
        automl.fit(x, y, pretrained="resnet18", storage=":memory:", n_trials=1, verbose=False)


def test_a_named_backbone_without_pretrained_is_an_error_not_dropped():
    from sklearn.datasets import load_digits

    digits = load_digits()
    with pytest.raises(PluginError, match="resnet18 is a pretrained backbone: name it with"):
        automl.fit(
            (digits.images[:200], digits.target[:200]),
            models=["resnet18", "convnet"],
            storage=":memory:",
            n_trials=1,
            verbose=False,
        )
