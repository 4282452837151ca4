"""RunConfig: defaults, unknown keys and bad values, each error naming the key and the value."""

import pytest

from keraslab.train.config import DEFAULTS, RunConfig, resolve_config, same_config, validation_share


def test_defaults_fill_every_key_in_order():
    cfg = resolve_config({"epochs": 3})
    assert list(cfg) == RunConfig.keys() == list(DEFAULTS)
    assert cfg["epochs"] == 3 and cfg["batch_size"] == 32 and cfg["diagnostics"] == []
    assert RunConfig.from_dict(cfg).to_dict() == cfg


def test_values_are_kept_as_given():
    """Lists stay lists, so result.json's config is what the grid wrote."""
    cfg = resolve_config({"filters": [8, 16], "augment": {"flip": True}, "learning_rate": 1})
    assert cfg["filters"] == [8, 16] and cfg["augment"] == {"flip": True} and cfg["learning_rate"] == 1


def test_unknown_keys_are_named_with_their_values():
    with pytest.raises(ValueError, match=r"Unknown config key\(s\) \['widht'\].*Received: widht=3"):
        RunConfig.from_dict({"widht": 3, "width": 4})


@pytest.mark.parametrize("key,value", [
    ("batch_size", 0), ("batch_size", 2.5), ("batch_size", True), ("epochs", -1), ("epochs", "3"),
    ("train_size", 0), ("depth", None), ("model", "vgg"), ("optimizer", "rmsprop"), ("strategy", "C"),
    ("data_fraction", 0), ("data_fraction", 1.5), ("validation_split", 0.7), ("learning_rate", 0),
    ("momentum", 1.0), ("weight_decay", -1e-4), ("dropout", 1.0), ("rate", -0.1), ("stochastic_depth", "0.1"),
    ("target_accuracy", 1.5), ("diagnostics", ["gradient"]), ("diagnostics", "gradients"),
    ("filters", [8, 0]), ("filters", []), ("blocks_per_stage", "2"), ("shuffle", "yes"), ("offline", 1),
    ("augment", 3), ("early_stopping_patience", -2), ("fine_tune_from", 0), ("seed", 1.5), ("name", ""),
    ("normalization", 3), ("dense_units", -1), ("virtual_batch_size", 0), ("virtual_batch_size", 2.5),
    ("virtual_batch_size", True), ("learning_rate_schedule", "step"), ("moving_statistics", "slice"),
    ("pretrain_dataset", "mnist"), ("steps_per_epoch", 0), ("steps_per_epoch", 2.5),
])
def test_bad_values_name_the_key_and_the_value(key, value):
    with pytest.raises(ValueError) as info:
        RunConfig.from_dict({key: value})
    message = str(info.value)
    assert message.startswith(f"`{key}` must be ") and message.endswith(f"Received: {key}={value!r}"), message


@pytest.mark.parametrize("key,value", [
    ("train_size", None), ("normalization", "group"), ("augment", "lab3"), ("augment", None),
    ("early_stopping_patience", 0), ("validation_split", 0.0), ("target_accuracy", 1), ("filters", (4, 8)),
    ("offline", None), ("fine_tune_from", 3), ("momentum", 0), ("pretrain_dataset", "fashion_mnist"),
    ("steps_per_epoch", None), ("steps_per_epoch", 40),
])
def test_accepted_values(key, value):
    assert getattr(RunConfig.from_dict({key: value}), key) == value


def test_virtual_batch_size_slices_the_batch_of_a_batch_normalized_convnet():
    cfg = RunConfig.from_dict({"model": "convnet", "normalization": "batch", "batch_size": 128,
                               "virtual_batch_size": 8})
    assert cfg.virtual_batch_size == 8 and RunConfig().virtual_batch_size is None
    assert RunConfig.from_dict({**cfg.to_dict(), "virtual_batch_size": 128}).virtual_batch_size == 128


@pytest.mark.parametrize("changes,named", [
    ({"normalization": "group"}, "normalization='group'"), ({"normalization": None}, "normalization=None"),
    ({"model": "mlp"}, "model='mlp'"), ({"batch_size": 4}, "batch_size=4"),
])
def test_virtual_batch_size_needs_batch_norm_in_a_convnet_and_a_batch_it_divides(changes, named):
    config = {"model": "convnet", "normalization": "batch", "batch_size": 128, "virtual_batch_size": 8, **changes}
    with pytest.raises(ValueError) as info:
        RunConfig.from_dict(config)
    message = str(info.value)
    assert message.startswith("`virtual_batch_size` ") and f"Received: virtual_batch_size=8, {named}" in message


def test_loss_noise_needs_one_step_per_execution():
    # Keras logs one running mean per execution: per-batch losses are lost with more steps.
    with pytest.raises(ValueError, match=r"Received: steps_per_execution=4, diagnostics=\['loss_noise'\]"):
        RunConfig.from_dict({"diagnostics": ["loss_noise"], "steps_per_execution": 4})


def test_moving_statistics_over_slices_need_slices():
    with pytest.raises(ValueError, match="Received: moving_statistics='slices', virtual_batch_size=None"):
        RunConfig.from_dict({"model": "convnet", "normalization": "batch", "moving_statistics": "slices"})


def test_replace_validates_and_the_config_is_frozen():
    cfg = RunConfig(epochs=2)
    assert cfg.replace(epochs=4).epochs == 4 and cfg.epochs == 2
    with pytest.raises(ValueError, match="Received: epochs=0"):
        cfg.replace(epochs=0)
    with pytest.raises(AttributeError):
        cfg.epochs = 3


def test_not_a_mapping():
    with pytest.raises(TypeError, match="Received: config=3"):
        RunConfig.from_dict(3)


def test_validation_share_follows_early_stopping():
    assert validation_share({"early_stopping_patience": 5}) == 0.1
    assert validation_share({}) == 0.0
    assert validation_share({"early_stopping_patience": 5, "validation_split": 0.2}) == 0.2


def test_same_config_compares_as_json():
    assert same_config({"filters": (8, 16)}, {"filters": [8, 16]})
    assert not same_config({"filters": [8]}, {"filters": [16]})


def test_the_old_defaults_of_the_transfer_and_budget_keys_are_kept():
    # Results made before these keys existed count at their defaults: today's behaviour.
    cfg = RunConfig()
    assert cfg.pretrain_dataset == "shapes" and cfg.steps_per_epoch is None


def test_an_epoch_of_steps_holds_whole_executions():
    with pytest.raises(ValueError, match="steps_per_execution=10. Received: steps_per_epoch=25"):
        RunConfig.from_dict({"steps_per_epoch": 25, "steps_per_execution": 10})
