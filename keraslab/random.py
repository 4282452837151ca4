"""Sampling helpers shared by keraslab's layers.

Keras's own `keras.random.beta` and `keras.random.gamma` lower to TensorFlow's
`StatelessRandomGammaV3`, which has no XLA kernel, so a layer that draws a Beta variate cannot be
compiled with `jit_compile=True`. The samplers here use only normal and uniform draws and
elementwise math, which every backend and XLA support.
"""

from __future__ import annotations

import keras
from keras import ops

# Marsaglia-Tsang accepts a proposal with probability > 0.95 for shape >= 1 (shapes below 1
# are boosted to shape + 1), so with 8 proposals per sample the chance that none is accepted
# is below 4e-11; that sample then keeps its first proposal, which is still positive and finite.
_GAMMA_PROPOSALS = 8
_TINY = 1e-30


def _as_seed_generator(seed):
    # Several draws share one seed here; a plain integer seed would give every draw the same
    # stream (correlated normals and uniforms), so it becomes a generator first.
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return seed
    return keras.random.SeedGenerator(seed)


def log_gamma_sample(shape, alpha, seed=None):
    """Draws log(X) for X ~ Gamma(alpha, 1) without a rejection loop.

    Uses Marsaglia and Tsang's method with a fixed number of vectorized proposals, and the
    boost `Gamma(a) = Gamma(a + 1) * U**(1/a)` for `a < 1`, carried out in log space so that
    very small shapes underflow to a large negative number instead of to zero.

    Args:
        shape: Shape of the output tensor.
        alpha: Positive Python float, the shape parameter.
        seed: A `keras.random.SeedGenerator`, an integer, or `None`.

    Returns:
        A float32 tensor of the given shape holding `log(X)`.
    """
    seed = _as_seed_generator(seed)
    alpha = float(alpha)
    if not alpha > 0:
        raise ValueError(f"alpha must be positive. Received: alpha={alpha}")
    shape = tuple(shape)
    boosted = alpha < 1.0
    a = alpha + 1.0 if boosted else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / (9.0 * d) ** 0.5

    proposal_shape = (_GAMMA_PROPOSALS,) + shape
    x = keras.random.normal(proposal_shape, seed=seed, dtype="float32")
    u = keras.random.uniform(proposal_shape, minval=_TINY, maxval=1.0, seed=seed, dtype="float32")
    v = (1.0 + c * x) ** 3
    safe_v = ops.maximum(v, _TINY)
    accepted = ops.logical_and(
        v > 0, ops.log(u) < 0.5 * x * x + d - d * safe_v + d * ops.log(safe_v)
    )
    # Index of the first accepted proposal (argmax returns the first maximum).
    first = ops.argmax(ops.cast(accepted, "int32"), axis=0)
    chosen_v = ops.take_along_axis(safe_v, ops.expand_dims(first, 0), axis=0)[0]
    log_x = ops.log(d) + ops.log(chosen_v)
    if boosted:
        u_boost = keras.random.uniform(shape, minval=_TINY, maxval=1.0, seed=seed, dtype="float32")
        log_x = log_x + ops.log(u_boost) / alpha
    return log_x


def beta_sample(shape, alpha, beta=None, seed=None):
    """Draws Beta(alpha, beta) variates using only normal and uniform draws (XLA-friendly).

    `X / (X + Y)` with `X ~ Gamma(alpha)` and `Y ~ Gamma(beta)`, computed as
    `sigmoid(log X - log Y)` so that small shape parameters cannot produce `0 / 0`.

    Args:
        shape: Shape of the output tensor.
        alpha: Positive float, the first shape parameter.
        beta: Positive float, the second shape parameter. Defaults to `alpha`.
        seed: A `keras.random.SeedGenerator`, an integer, or `None`.

    Returns:
        A float32 tensor of the given shape with values in [0, 1].

    Example:

    >>> lam = beta_sample((4,), alpha=0.2, seed=keras.random.SeedGenerator(0))
    """
    seed = _as_seed_generator(seed)
    if not float(alpha) > 0:
        raise ValueError(f"alpha must be positive. Received: alpha={alpha}")
    beta = alpha if beta is None else beta
    if not float(beta) > 0:
        raise ValueError(f"beta must be positive. Received: beta={beta}")
    if float(beta) == float(alpha):
        # One draw of twice the size: half the random ops of two draws (MixUp and CutMix
        # always sample symmetric Betas, and op count dominates for batch-sized draws).
        log_xy = log_gamma_sample((2,) + tuple(shape), alpha, seed=seed)
        return ops.sigmoid(log_xy[0] - log_xy[1])
    log_x = log_gamma_sample(shape, alpha, seed=seed)
    log_y = log_gamma_sample(shape, beta, seed=seed)
    return ops.sigmoid(log_x - log_y)


def bernoulli_keep_mask(shape, keep_prob, seed=None, dtype="float32"):
    """A 0/1 mask of the given shape whose entries are 1 with probability `keep_prob`."""
    u = keras.random.uniform(shape, seed=seed, dtype="float32")
    return ops.cast(u < keep_prob, dtype)
