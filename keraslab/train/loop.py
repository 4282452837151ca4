"""A custom training loop for strategies under which Keras 3 `fit` fails.

Keras 3 `model.fit` does not work under `tf.distribute.MultiWorkerMirroredStrategy` (it
fails converting `PerReplica` values). This loop does what `fit` would: one
`strategy.run` per step with a `GradientTape`, the loss averaged over the **global**
batch, gradients all-reduced by the Keras optimizer, metrics summed across replicas. It
works under any strategy, so it is also tested against `fit` on one device.
"""

from __future__ import annotations

import time

import keras
import numpy as np


def _distribute(strategy, dataset):
    import tensorflow as tf

    options = tf.data.Options()
    # In-memory datasets have no files to shard by; shard by element so that each worker
    # sees a different part of every global batch.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def train(build_model, train_data, *, strategy, epochs, global_batch_size, optimizer,
          validation_data=None, loss="categorical_crossentropy", steps_per_epoch=None, verbose=1,
          callbacks=None):
    """Trains a model with a custom loop under `strategy`.

    Args:
        build_model: a function returning a new, uncompiled Keras model; called inside
            `strategy.scope()` so that its variables are mirrored.
        train_data: a `tf.data.Dataset` of `(x, y)` batches of `global_batch_size`
            (the strategy splits them across replicas and workers).
        strategy: a `tf.distribute.Strategy`.
        epochs: number of epochs.
        global_batch_size: examples per step over all replicas (the loss is averaged over
            this, so gradients match one device with the same batch).
        optimizer: a function returning a Keras optimizer (called inside the scope), or an
            optimizer identifier string.
        validation_data: optional `tf.data.Dataset` evaluated after each epoch.
        loss: a Keras loss identifier or instance (reduction is handled here).
        steps_per_epoch: optional cap on steps per epoch.
        verbose: print one line per epoch.
        callbacks: optional list of objects with `on_epoch_end(epoch, logs)`.

    Returns:
        `(model, history)`: the trained model (its optimizer, which counts the steps, is
        `model.optimizer`) and a dict of per-epoch lists (`loss`, `accuracy`, `val_loss`,
        `val_accuracy`, `epoch_time`).

    Example:
    >>> model, history = train(lambda: build_mlp((8, 8, 1), 10), ds, strategy=strategy,
    ...                        epochs=2, global_batch_size=64, optimizer="adam")  # doctest: +SKIP
    """
    import tensorflow as tf

    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"`epochs` must be a positive integer. Received: epochs={epochs!r}")
    with strategy.scope():
        model = build_model()
        opt = optimizer() if callable(optimizer) else keras.optimizers.get(optimizer)
        loss_obj = keras.losses.get(loss)
        if isinstance(loss_obj, keras.losses.Loss):
            # Per-example values: the average over the global batch is taken below.
            loss_obj = loss_obj.__class__.from_config({**loss_obj.get_config(), "reduction": None})
        elif not callable(loss_obj):  # loss functions already return per-example values
            raise ValueError(f"`loss` must be a Keras loss name, function or instance. Received: loss={loss!r}")
        # Build the optimizer's slots under the scope, before tracing the step.
        opt.build(model.trainable_variables)

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            per_example = loss_obj(y, pred)
            loss_value = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
            if model.losses:
                loss_value += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        grads = tape.gradient(loss_value, model.trainable_variables)
        # The Keras optimizer all-reduces (sums) the per-replica gradients itself.
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        correct = _correct(y, pred)
        return loss_value * tf.cast(global_batch_size, tf.float32), correct, tf.cast(tf.shape(x)[0], tf.float32)

    def replica_eval(x, y):
        pred = model(x, training=False)
        return tf.reduce_sum(loss_obj(y, pred)), _correct(y, pred), tf.cast(tf.shape(x)[0], tf.float32)

    @tf.function
    def train_step(x, y):
        outs = strategy.run(replica_step, args=(x, y))
        return [strategy.reduce(tf.distribute.ReduceOp.SUM, o, axis=None) for o in outs]

    @tf.function
    def eval_step(x, y):
        outs = strategy.run(replica_eval, args=(x, y))
        return [strategy.reduce(tf.distribute.ReduceOp.SUM, o, axis=None) for o in outs]

    dist_train = _distribute(strategy, train_data)
    dist_val = _distribute(strategy, validation_data) if validation_data is not None else None
    history = {"loss": [], "accuracy": [], "epoch_time": []}
    if dist_val is not None:
        history.update(val_loss=[], val_accuracy=[])
    for epoch in range(epochs):
        start = time.perf_counter()
        totals = np.zeros(3)
        for step, (x, y) in enumerate(dist_train):
            if steps_per_epoch is not None and step >= steps_per_epoch:
                break
            # Each replica returns its summed loss (its share of the global mean times the
            # global batch); summed over replicas that is the whole batch's summed loss.
            totals += [float(v) for v in train_step(x, y)]
        history["loss"].append(totals[0] / max(totals[2], 1))
        history["accuracy"].append(totals[1] / max(totals[2], 1))
        history["epoch_time"].append(time.perf_counter() - start)
        if dist_val is not None:
            vt = np.zeros(3)
            for x, y in dist_val:
                vt += [float(v) for v in eval_step(x, y)]
            history["val_loss"].append(vt[0] / max(vt[2], 1))
            history["val_accuracy"].append(vt[1] / max(vt[2], 1))
        logs = {k: v[-1] for k, v in history.items()}
        for cb in callbacks or ():
            cb.on_epoch_end(epoch, logs)
        if verbose:
            print(f"epoch {epoch + 1}/{epochs} " + " ".join(f"{k}={v:.4f}" for k, v in logs.items()), flush=True)
    model.optimizer = opt  # not compiled, but callers read steps from optimizer.iterations
    return model, history


def _correct(y, pred):
    import tensorflow as tf

    pred_class = tf.argmax(pred, axis=-1, output_type=tf.int64)
    if len(y.shape) == len(pred.shape):
        true_class = tf.argmax(y, axis=-1, output_type=tf.int64)
    else:
        true_class = tf.cast(tf.reshape(y, [-1]), tf.int64)
    return tf.reduce_sum(tf.cast(tf.equal(pred_class, true_class), tf.float32))
