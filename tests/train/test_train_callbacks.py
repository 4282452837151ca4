import tensorflow as tf

from keraslab.train.callbacks import ScalarSummaryLogger


def test_tensorboard_logs_without_tensorboard(tmp_path):
    logger = ScalarSummaryLogger(tmp_path)
    logger.on_epoch_end(0, {"loss": 1.5, "val_accuracy": 0.25})
    logger.on_epoch_end(1, {"loss": 1.0, "val_accuracy": 0.5})
    logger.on_train_end()
    seen = {}
    for split in ("train", "validation"):
        for path in (tmp_path / split).iterdir():
            for event in tf.compat.v1.train.summary_iterator(str(path)):
                for v in event.summary.value:
                    assert v.metadata.plugin_data.plugin_name == "scalars"
                    seen[(split, v.tag, event.step)] = float(tf.make_ndarray(v.tensor))
    assert seen == {("train", "epoch_loss", 0): 1.5, ("train", "epoch_loss", 1): 1.0,
                    ("validation", "epoch_accuracy", 0): 0.25, ("validation", "epoch_accuracy", 1): 0.5}


