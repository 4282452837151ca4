import json
import os
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from keraslab.models import build_mlp
from keraslab.train import loop


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, n)]
    return x, y


def _build():
    return build_mlp((6,), 3, depth=2, width=8, initializer="xavier", seed=3)


def _fit_default(x, y, epochs=2, batch=16):
    model = _build()
    model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
    model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
    return model


def test_custom_loop_matches_fit_on_one_device():
    x, y = _data()
    ref = _fit_default(x, y)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model, history = loop.train(_build, ds, strategy=tf.distribute.get_strategy(), epochs=2,
                                global_batch_size=16, optimizer=lambda: keras.optimizers.SGD(0.1),
                                validation_data=ds, verbose=0)
    for a, b in zip(ref.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0] + 0.05
    # Validation numbers are the model's real performance on the data.
    probs = model.predict(x, verbose=0)
    assert history["val_accuracy"][-1] == pytest.approx((probs.argmax(1) == y.argmax(1)).mean())


def test_mirrored_two_cpus_matches_one_device(two_cpu_strategy):
    """Same global batch (16 = 2 x 8): the same updates, up to float summation order."""
    x, y = _data()
    ref = _fit_default(x, y)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model, _ = loop.train(_build, ds, strategy=two_cpu_strategy, epochs=2, global_batch_size=16,
                          optimizer=lambda: keras.optimizers.SGD(0.1), verbose=0)
    for a, b in zip(ref.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_fit_under_mirrored_two_cpus_matches_one_device(two_cpu_strategy):
    x, y = _data()
    ref = _fit_default(x, y)
    with two_cpu_strategy.scope():
        model = _build()
        model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model.fit(ds, epochs=2, verbose=0)
    for a, b in zip(ref.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_bad_epochs():
    with pytest.raises(ValueError, match="epochs"):
        loop.train(_build, None, strategy=tf.distribute.get_strategy(), epochs=0, global_batch_size=1, optimizer="sgd")


WORKER = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    import tensorflow as tf
    import keras
    from keraslab.train import strategy as st, loop
    from keraslab.models import build_mlp

    runtime = st.setup()  # reads TF_CONFIG: multi-worker
    assert runtime.kind == "multi_worker" and runtime.num_replicas == 2, runtime
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 64)]
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model, history = loop.train(lambda: build_mlp((6,), 3, depth=2, width=8, initializer="xavier", seed=3), ds,
                                strategy=runtime.strategy, epochs=2, global_batch_size=16,
                                optimizer=lambda: keras.optimizers.SGD(0.1), verbose=0)
    np.savez(sys.argv[1], *model.get_weights())
    json.dump(history, open(sys.argv[1] + ".json", "w"))

    # The lab runner takes the same path under multi-worker training.
    from keraslab.train import experiment
    experiment.run_experiment({"name": "mw", "dataset": "digits", "model": "mlp", "depth": 2, "width": 8,
                           "train_size": 128, "test_size": 64, "batch_size": 16, "epochs": 2,
                           "optimizer": "sgd", "learning_rate": 0.05}, sys.argv[2], runtime=runtime)
    """
)


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_two_worker_multi_worker_mirrored_run_completes(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                                      "task": {"type": "worker", "index": index}})}
        env.pop("CUDA_VISIBLE_DEVICES", None)
        procs.append(subprocess.Popen([sys.executable, str(script), str(tmp_path / f"w{index}.npz"),
                                       str(tmp_path / "runs")],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=150)[0].decode(errors="replace"))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out[-3000:]
    w0, w1 = np.load(tmp_path / "w0.npz"), np.load(tmp_path / "w1.npz")
    assert len(w0.files) == len(w1.files) > 0
    for k in w0.files:
        np.testing.assert_allclose(w0[k], w1[k], atol=1e-6)  # workers stay in sync
    # Each worker sees half of each global batch; together they equal one device.
    x, y = _data()
    ref = _fit_default(x, y)
    for a, k in zip(ref.get_weights(), w0.files, strict=True):
        np.testing.assert_allclose(a, w0[k], atol=1e-5)
    history = json.loads((tmp_path / "w0.npz.json").read_text())
    assert len(history["loss"]) == 2
    # Runner: the chief writes the result; per-replica batch 16 x 2 workers = global 32.
    result = json.loads((tmp_path / "runs" / "mw" / "result.json").read_text())
    assert result["runtime"]["strategy"] == "multi_worker" and result["runtime"]["global_batch_size"] == 32
    assert result["steps"] == 2 * 4 and result["epochs_run"] == 2
    assert (tmp_path / "runs" / "_workers" / "mw-1" / "result.json").exists()
