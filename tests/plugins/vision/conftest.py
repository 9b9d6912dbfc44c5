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
