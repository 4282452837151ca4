"""Rectangle masks shared by Cutout and CutMix."""

from __future__ import annotations

from keras import ops


def box_mask(height, width, top, left, box_height, box_width, data_format="channels_last"):
    """A float32 mask, 1 inside each sample's box, clipped to the image.

    The mask has shape (batch, height, width, 1) for "channels_last" and (batch, 1, height,
    width) for "channels_first", so it broadcasts against a batch of images of either layout.
    `top`, `left`, `box_height`, `box_width` are int32 tensors of shape (batch,); the box covers
    rows [top, top + box_height) and columns [left, left + box_width), and may extend past the
    image on any side (the part outside is simply not there).
    """
    rows = ops.arange(height, dtype="int32")[None, :]
    cols = ops.arange(width, dtype="int32")[None, :]
    top, left = top[:, None], left[:, None]
    in_rows = ops.logical_and(rows >= top, rows < top + box_height[:, None])
    in_cols = ops.logical_and(cols >= left, cols < left + box_width[:, None])
    mask = ops.cast(ops.logical_and(in_rows[:, :, None], in_cols[:, None, :]), "float32")
    return mask[:, None] if data_format == "channels_first" else mask[..., None]


def spatial_axes(data_format):
    """The (height, width) axes of a rank-4 batch of images."""
    return (2, 3) if data_format == "channels_first" else (1, 2)


def image_size(images, data_format="channels_last"):
    """Static height and width of a rank-4 batch when known, else dynamic scalars."""
    dynamic = ops.shape(images)
    height_axis, width_axis = spatial_axes(data_format)
    height = images.shape[height_axis]
    width = images.shape[width_axis]
    height = dynamic[height_axis] if height is None else height
    width = dynamic[width_axis] if width is None else width
    return height, width
