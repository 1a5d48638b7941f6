"""Shared pieces of the five GAN tutorial ports: image I/O, colour, grids, data, callbacks, CLI."""
import os

# TensorFlow's C++ start-up chatter hides the progress bar; a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's oneDNN CPU kernels stay on (TensorFlow's default, 1.7-2.4x faster training on
# a 2-core AVX-512 CPU). They were off for a while: the side-by-side run had found the AC-GAN
# discriminator's convolution gradients 5e-3 from TF 1.15's, which compared two float32 kernel
# sets with each other. Against a float64 run of one whole train step of every program
# (python -m bench.float64_step, bench/README.md) oneDNN's update and gradient errors are those
# of TensorFlow's own kernels (medians within 3x of each other either way), and the side-by-side
# tests pass with either. TF_ENABLE_ONEDNN_OPTS=0 turns them off.
