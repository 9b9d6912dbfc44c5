"""Built-in vision plugin: image classification, registered through the ``automl.plugins``
entry point with the same hooks a third-party plugin uses.

Task ``vision`` (numpy image arrays, image folders, torch Datasets) and the model families
``convnet``, ``resnet`` and ``pixel_mlp``; see README.md ("Images"); and one family per
pretrained torchvision backbone (``resnet18`` ...), searched when ``pretrained=`` names it
(``automl_vision.backbone_family``, docs/pretrained.md).
"""

from __future__ import annotations

from automl.plugin import hookimpl


@hookimpl
def automl_register_tasks(register):
    from automl_vision.task import VisionTask

    register(VisionTask())


@hookimpl
def automl_register_models(register):
    from automl_vision.backbone_family import FAMILIES as BACKBONES
    from automl_vision.families import FAMILIES

    for family in (*FAMILIES, *BACKBONES):
        register(family())
