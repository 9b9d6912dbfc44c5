"""Weights for the pretrained-backbone tests, made once per session (nothing is downloaded)."""

import pytest


@pytest.fixture(scope="session")
def weights(tmp_path_factory):
    """Random-initialised resnet18 and mobilenet_v3_small state dicts, heads of 10 classes."""
    import torch
    import torchvision

    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    files = {}
    for arch in ("resnet18", "mobilenet_v3_small"):
        files[arch] = folder / f"{arch}.pth"
        net = torchvision.models.get_model(arch, weights=None, num_classes=10)
        torch.save(net.state_dict(), files[arch])
    return files


@pytest.fixture
def frozen_first(monkeypatch):
    """The backbones' first trial frozen, a head on cached features (seconds, where fine-tuning
    every layer, the CPU default, takes a minute on a busy machine): for tests of what any
    trained backbone does (save, load, trial order), not of the default itself."""
    from automl_vision.backbone_family import BackboneFamily

    def frozen(self, data):
        p = self.name + "."
        return {
            p + "strategy": "frozen",
            p + "lr": 3e-3,
            p + "weight_decay": 1e-4,
            p + "head_dropout": 0.1,
            p + "resolution": 32,
            p + "epochs": min(data.max_epochs, 10),
        }

    monkeypatch.setattr(BackboneFamily, "default_params", frozen)
