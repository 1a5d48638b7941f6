"""Latent vectors, drawn in one place for every program, the sampler and the side-by-side
programs: from a NumPy Generator (grids, evaluation, the sampler page, the side-by-side latents)
or with TensorFlow's stateless ops from a seed pair (the train steps' inputs, drawn in the
tf.data pipeline). Distributions by carpedm20's --z_dist names: uniform_signed U(-1, 1) (the
DCGAN's and AC-GAN's noise), uniform_unsigned U(0, 1), normal N(0, 1) (O-GAN, the anime DCGAN,
the WGAN; carpedm20 calls it normal01)."""
import argparse
import typing

import numpy as np
import tensorflow as tf

DISTRIBUTIONS = ("normal", "uniform_signed", "uniform_unsigned")
ALIASES = {"normal01": "normal"}  # carpedm20's --z_dist name of N(0, 1)


def distribution_flag(text):
    """argparse type of a --z_dist flag: a distribution's name (carpedm20's normal01 read as
    normal), so the options hold one name for each distribution."""
    try:
        return _checked(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be one of {', '.join(DISTRIBUTIONS + tuple(ALIASES))}, got {text!r}") from None


distribution_flag.result_type = typing.Literal[DISTRIBUTIONS]


def _checked(distribution):
    distribution = ALIASES.get(distribution, distribution)
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown latent distribution {distribution!r}")
    return distribution


def draw(rng, shape, distribution="normal"):
    """float32 latents from the NumPy Generator `rng`."""
    distribution = _checked(distribution)
    if distribution == "normal":
        return rng.standard_normal(shape).astype(np.float32)
    low = -1.0 if distribution == "uniform_signed" else 0.0
    return rng.uniform(low, 1.0, shape).astype(np.float32)


def fixed(shape, seed, distribution="normal"):
    """Latents drawn once from `seed`, so every grid of a run (and a resumed run) uses the same."""
    return draw(np.random.default_rng(seed), shape, distribution)


def stateless(shape, seed, distribution="normal"):
    """float32 latents drawn with TensorFlow's stateless ops from the seed pair `seed`."""
    distribution = _checked(distribution)
    if distribution == "normal":
        return tf.random.stateless_normal(shape, seed)
    low = -1.0 if distribution == "uniform_signed" else 0.0
    return tf.random.stateless_uniform(shape, seed, low, 1.0)
