"""Rectangle masks shared by Cutout and CutMix."""

from __future__ import annotations

from keras import ops


def box_mask(height, width, top, left, box_height, box_width):
    """A (batch, height, width, 1) float32 mask, 1 inside each sample's box, clipped to the image.

    `top`, `left`, `box_height`, `box_width` are int32 tensors of shape (batch,); the box covers
    rows [top, top + box_height) and columns [left, left + box_width), and may extend past the
    image on any side (the part outside is simply not there).
    """
    rows = ops.arange(height, dtype="int32")[None, :]
    cols = ops.arange(width, dtype="int32")[None, :]
    top, left = top[:, None], left[:, None]
    in_rows = ops.logical_and(rows >= top, rows < top + box_height[:, None])
    in_cols = ops.logical_and(cols >= left, cols < left + box_width[:, None])
    mask = ops.logical_and(in_rows[:, :, None], in_cols[:, None, :])
    return ops.cast(mask, "float32")[..., None]


def image_size(images):
    """Static height and width when known, else dynamic scalars."""
    dynamic = ops.shape(images)
    height = images.shape[1] if images.shape[1] is not None else dynamic[1]
    width = images.shape[2] if images.shape[2] is not None else dynamic[2]
    return height, width
