"""Every program's train step under Keras' float64 dtype policy (the side-by-side float64
reference and bench.float64_step): every weight, BatchNorm statistic and debias state in
float64, and the losses the step computes before any update those of the float32 step from the
same weights and batch to float32 rounding. Tiny sizes."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from bench.float64_step import build_without_dropout, networks
from bench.gpu import TINY
from bench.throughput import PROGRAMS, batch_for

# The losses each port's train step computes before its first update (the others come after
# Adam's or RMSprop's first, sign-like step, which turns rounding into lr-sized differences:
# carpedm20 re-evaluates its losses after the updates, the WGAN prints its fifth critic call's).
PRE_UPDATE = {"acgan": ("d_loss", "d_generation_loss", "d_auxiliary_loss"),
              "ogan": ("loss", "t1_loss", "z_corr"),
              "anime": ("d_loss", "d_loss_real", "d_loss_fake"),
              "pix2pix": ("discrim_loss", "gen_loss_GAN", "gen_loss_L1")}


def one_step(program, dtype, weights=None, batch=None):
    """(losses, float variables, the batch) of one train step of `program` built under
    `dtype`, from `weights` and `batch` when given; dropout off (its masks are drawn in the
    layer's dtype)."""
    keras.utils.set_random_seed(0)
    gan, args = build_without_dropout(program, dtype, TINY[program])
    variables = networks(gan)
    if batch is None:
        batch = tf.nest.map_structure(np.asarray, batch_for(program, args)[0])
    if weights is not None:
        for variable, value in zip(variables, weights):
            variable.assign(value.astype(variable.dtype))
    before = [np.asarray(v) for v in variables]
    cast = tf.nest.map_structure(
        lambda a: tf.constant(a.astype(dtype) if a.dtype.kind == "f" else a), batch)
    losses = {k: float(v) for k, v in gan.train_step(cast).items()}
    return losses, before, variables, batch


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_float64_step_is_the_float32_step_in_exact_arithmetic(program):
    losses32, weights, _, batch = one_step(program, "float32")
    losses64, _, variables, _ = one_step(program, "float64", weights, batch)
    assert all(v.dtype == "float64" for v in variables), \
        [v.path for v in variables if v.dtype != "float64"]
    # float32 rounding, relative to the largest of them (O-GAN's loss is a difference that
    # nearly cancels); measured at most 9.5e-7. A float32 layer left in the float64 step
    # would not show here: the dtype check above catches it.
    names = PRE_UPDATE.get(program, ())
    assert all(np.isfinite(value) for value in losses64.values())
    scale = max([abs(losses64[name]) for name in names] or [0.0])
    for name in names:
        assert abs(losses32[name] - losses64[name]) <= 1e-5 * scale, (name, losses32,
                                                                       losses64)
