import json

import keras
import pytest
import tensorflow as tf

from keraslab.train import strategy as st


def _tf_config(n):
    return {"TF_CONFIG": json.dumps({"cluster": {"worker": [f"127.0.0.1:{2000 + i}" for i in range(n)]},
                                     "task": {"type": "worker", "index": 0}})}


def test_choose_kind_by_cluster_and_gpus():
    assert st.choose_kind(env={}, num_gpus=0) == "default"
    assert st.choose_kind(env={}, num_gpus=1) == "mirrored"
    assert st.choose_kind(env=_tf_config(2), num_gpus=0) == "multi_worker"
    assert st.choose_kind(env=_tf_config(1), num_gpus=0) == "default"  # a one-task cluster is no cluster
    assert st.cluster_size(_tf_config(3)) == 3


def test_bad_tf_config():
    with pytest.raises(ValueError, match="TF_CONFIG"):
        st.cluster_size({"TF_CONFIG": "{not json"})


def test_cpu_defaults_no_mixed_precision_and_auto_jit(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    runtime = st.setup()
    assert runtime.kind == "default" and runtime.num_replicas == 1
    assert runtime.mixed_precision == "float32" and runtime.jit_compile == "auto"
    assert keras.mixed_precision.global_policy().name == "float32"
    assert runtime.global_batch_size(32) == 32


def test_global_batch_scales_with_replicas(two_cpu_strategy):
    runtime = st.from_strategy(two_cpu_strategy)
    assert runtime.kind == "mirrored" and runtime.num_replicas == 2
    assert runtime.global_batch_size(16) == 32
    with pytest.raises(ValueError, match="per_replica_batch"):
        runtime.global_batch_size(0)


def test_mirrored_setup_on_cpus_uses_logical_devices(two_cpu_strategy):
    runtime = st.setup(kind="mirrored")
    assert runtime.num_replicas == len(tf.config.list_logical_devices("CPU"))
    with pytest.raises(ValueError, match="kind"):
        st.setup(kind="tpu")
