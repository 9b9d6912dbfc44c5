import optuna
import pytest
import torch

from automl import space


@pytest.mark.parametrize("name", space.ACTIVATIONS)
def test_every_activation_builds(name):
    out = space.make_activation(name)(torch.linspace(-2, 2, 5))
    assert out.shape == (5,)


@pytest.mark.parametrize("name", space.OPTIMIZERS)
def test_every_optimizer_steps(name):
    layer = torch.nn.Linear(3, 1)
    before = layer.weight.detach().clone()
    opt = space.make_optimizer(
        {"optimizer": name, "lr": 0.1, "weight_decay": 0.0}, layer.parameters()
    )
    layer(torch.ones(4, 3)).sum().backward()
    opt.step()
    assert not torch.equal(before, layer.weight)


@pytest.mark.parametrize("scheme", space.INITS)
def test_every_init_applies(scheme):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Conv1d(2, 2, 3))
    before = net[0].weight.detach().clone()
    space.init_weights(net, scheme)
    assert torch.equal(before, net[0].weight) == (scheme == "default")


def test_suggest_training_covers_the_shared_space():
    trial = optuna.create_study().ask()
    space.suggest_training(trial)
    params = trial.params
    assert params["optimizer"] in space.OPTIMIZERS
    assert space.LR_RANGE[0] <= params["lr"] <= space.LR_RANGE[1]
    assert params["batch_size"] in space.BATCH_SIZES
    assert trial.distributions["lr"].log


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown activation"):
        space.make_activation("swishy")
    with pytest.raises(ValueError, match="unknown optimizer"):
        space.make_optimizer({"optimizer": "lion"}, torch.nn.Linear(1, 1).parameters())


def test_default_training_names_the_shared_space():
    params = space.default_training(optimizer="adamw", lr=1e-3, weight_decay=1e-5, batch_size=64)
    assert set(params) == {"activation", "init", "optimizer", "lr", "weight_decay", "batch_size"}
    assert set(params) <= set(space.SHARED_PARAMS)
    more = space.default_training(
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        batch_size=32,
        lr_schedule="cosine",
        label_smoothing=0.1,
    )
    assert more["lr_schedule"] == "cosine" and more["label_smoothing"] == 0.1
    with pytest.raises(ValueError, match="unknown optimizer"):
        space.default_training(optimizer="lion", lr=1e-3, weight_decay=0.0, batch_size=32)


def test_batch_size_for_steps_by_training_rows():
    sizes = {0: 32, 2001: 64, 20_001: 128}
    chosen = [space.batch_size_for(n, sizes) for n in (1, 2000, 2001, 20_000, 20_001)]
    assert chosen == [32, 32, 64, 64, 128]
