import numpy as np
import pytest
import tensorflow_datasets as tfds

from keraslab.data import tfds as loaders


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Tests never touch the network: the connection check always fails."""
    monkeypatch.setattr(loaders, "network_available", lambda timeout=1.5: False)
    monkeypatch.delenv(loaders.OFFLINE_ENV, raising=False)


@pytest.mark.parametrize("name,shape,classes", [("cifar10", (32, 32, 3), 10), ("mnist", (28, 28, 1), 10)])
def test_tfds_path_with_mock_data(name, shape, classes, tmp_path):
    with tfds.testing.mock_data(num_examples=48):
        data = loaders.load(name, batch_size=16, train_size=40, test_size=24, data_dir=str(tmp_path))
    assert data.source == "tfds"
    assert data.input_shape == shape and data.num_classes == classes
    assert len(data.x_train) == 40 and len(data.x_test) == 24
    batches = list(data.train)
    assert [len(b[0]) for b in batches] == [16, 16, 8]
    assert batches[0][1].shape == (16, classes)
    x = np.concatenate([b[0].numpy() for b in data.test])
    np.testing.assert_allclose(x.mean((0, 1, 2)), 0.0, atol=0.15)  # test split, train stats


def test_flowers_are_resized(tmp_path):
    with tfds.testing.mock_data(num_examples=20):
        x, y, xt, yt, source = loaders.load_arrays("tf_flowers", image_size=48, data_dir=str(tmp_path))
    assert source == "tfds" and x.shape[1:] == (48, 48, 3) and x.dtype == np.uint8


def test_tfds_load_never_downloads_without_network(monkeypatch, tmp_path, capsys):
    calls = []
    real_load = tfds.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("download"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(tfds, "load", spy)
    with pytest.raises(loaders.DatasetUnavailableError, match="KERASLAB_OFFLINE"):
        loaders.load_arrays("cifar10", data_dir=str(tmp_path), offline=False)
    assert calls == [False]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cifar10" in err[0]


def test_offline_fallback_via_env(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(loaders.OFFLINE_ENV, "1")
    data = loaders.load("cifar100", batch_size=8, train_size=200, test_size=100, data_dir=str(tmp_path))
    assert data.source == "offline:shapes" and data.num_classes == 100
    assert data.y_train.max() < 100
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "offline stand-in" in err[0]


def test_offline_mnist_uses_the_real_digits(tmp_path):
    data = loaders.load("mnist", train_size=64, offline=True, data_dir=str(tmp_path))
    assert data.source == "offline:mnist_5k" and data.input_shape == (28, 28, 1)


def test_channels_option_and_bad_name():
    data = loaders.load("digits", channels=3, train_size=32, test_size=16)
    assert data.input_shape == (8, 8, 3)
    with pytest.raises(ValueError, match="name"):
        loaders.load("imagenet")
