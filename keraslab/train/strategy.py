"""Choosing a `tf.distribute` strategy, mixed precision and XLA for the machine at hand.

- `TF_CONFIG` naming a cluster with more than one task: `MultiWorkerMirroredStrategy`
  (train with `keraslab.train.loop`, because Keras 3 `fit` fails under it).
- local GPUs: `MirroredStrategy` over all of them.
- otherwise: the default strategy (one device).

On GPU, mixed precision and XLA are on by default: `mixed_bfloat16` on GPUs of compute
capability 8.0 or newer (no loss scaling needed), `mixed_float16` on older ones. On CPU
both stay off, and `jit_compile` is left to Keras ("auto"), which turns XLA off under a
strategy on CPU where it would fail.

Batch sizes in the labs are per replica; the global batch is `per_replica * replicas`, so
batch-norm statistics are computed over the same number of examples on any machine.
"""

from __future__ import annotations

import dataclasses
import json
import os


@dataclasses.dataclass
class Runtime:
    """The distribution set-up of a run.

    Attributes:
        strategy: the `tf.distribute.Strategy`.
        kind: "default", "mirrored" or "multi_worker".
        num_replicas: replicas in sync (global batch = per-replica batch x this).
        mixed_precision: the Keras dtype policy name in force.
        jit_compile: value for `model.compile(jit_compile=...)`.
        device: "gpu" or "cpu".
    """

    strategy: object
    kind: str
    num_replicas: int
    mixed_precision: str
    jit_compile: object
    device: str

    def global_batch_size(self, per_replica_batch):
        """Global batch size for a per-replica batch size."""
        if not isinstance(per_replica_batch, int) or per_replica_batch < 1:
            raise ValueError(f"`per_replica_batch` must be a positive integer. Received: per_replica_batch={per_replica_batch!r}")
        return per_replica_batch * self.num_replicas

    def describe(self):
        """JSON-ready summary."""
        return {"strategy": self.kind, "replicas": self.num_replicas, "mixed_precision": self.mixed_precision,
                "jit_compile": self.jit_compile, "device": self.device}


def cluster_size(env=None):
    """Number of tasks in the cluster that `TF_CONFIG` names (0 when it names none).

    Args:
        env: a mapping like `os.environ` (default: the process environment).

    Returns:
        An int.

    Example:
    >>> cluster_size({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}'})
    2
    """
    env = os.environ if env is None else env
    raw = env.get("TF_CONFIG", "")
    if not raw.strip():
        return 0
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"TF_CONFIG is not valid JSON. Received: TF_CONFIG={raw[:200]!r}") from exc
    cluster = config.get("cluster", {}) or {}
    return sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))


def choose_kind(env=None, num_gpus=None):
    """Which strategy kind `setup` would pick: "multi_worker", "mirrored" or "default".

    Args:
        env: environment mapping (default: the process environment).
        num_gpus: number of local GPUs (default: ask TensorFlow).

    Returns:
        A string.
    """
    if cluster_size(env) > 1:
        return "multi_worker"
    if num_gpus is None:
        import tensorflow as tf

        num_gpus = len(tf.config.list_physical_devices("GPU"))
    return "mirrored" if num_gpus > 0 else "default"


def _gpu_policy():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    try:
        major = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))[0]
    except Exception:  # details are best-effort on some drivers
        major = 0
    return "mixed_bfloat16" if major >= 8 else "mixed_float16"


def setup(kind=None, mixed_precision=None, jit_compile=None, devices=None):
    """Creates the strategy and sets the global dtype policy.

    Call it once, early (multi-worker set-up must happen before other TensorFlow work).

    Args:
        kind: force "default", "mirrored" or "multi_worker" (default: `choose_kind()`).
        mixed_precision: `None` (on for GPU, off for CPU), a bool, or a Keras policy name.
        jit_compile: `None` (True on GPU, "auto" on CPU) or a value for `compile`.
        devices: devices for "mirrored" (default: all GPUs, or all CPUs when none).

    Returns:
        A `Runtime`.

    Example:
    >>> runtime = setup()  # doctest: +SKIP
    >>> runtime.global_batch_size(32)  # doctest: +SKIP
    """
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    kind = kind or choose_kind(num_gpus=len(gpus))
    if kind not in ("default", "mirrored", "multi_worker"):
        raise ValueError(f"`kind` must be 'default', 'mirrored' or 'multi_worker'. Received: kind={kind!r}")
    if kind == "multi_worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif kind == "mirrored":
        if devices is None and not gpus:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices)
    else:
        strategy = tf.distribute.get_strategy()

    device = "gpu" if gpus else "cpu"
    if mixed_precision is None:
        policy = _gpu_policy() if gpus else "float32"
    elif mixed_precision is True:
        policy = _gpu_policy() if gpus else "mixed_bfloat16"
    elif mixed_precision is False:
        policy = "float32"
    else:
        policy = str(mixed_precision)
    keras.mixed_precision.set_global_policy(policy)
    if jit_compile is None:
        jit_compile = True if gpus else "auto"
    return Runtime(strategy=strategy, kind=kind, num_replicas=int(strategy.num_replicas_in_sync),
                   mixed_precision=policy, jit_compile=jit_compile, device=device)


def from_strategy(strategy, mixed_precision="float32", jit_compile="auto"):
    """Wraps an existing strategy (e.g. a test's MirroredStrategy) in a `Runtime`."""
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        kind = "multi_worker"
    elif isinstance(strategy, tf.distribute.MirroredStrategy):
        kind = "mirrored"
    else:
        kind = "default"
    return Runtime(strategy=strategy, kind=kind, num_replicas=int(strategy.num_replicas_in_sync),
                   mixed_precision=mixed_precision, jit_compile=jit_compile,
                   device="gpu" if tf.config.list_physical_devices("GPU") else "cpu")
