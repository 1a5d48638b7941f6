"""Shared pieces of the five GAN tutorial ports: image I/O, colour, grids, data, callbacks, CLI."""
import os

# TensorFlow's C++ start-up chatter hides the progress bar; a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's oneDNN CPU kernels gave the AC-GAN discriminator's convolution gradients
# relative errors up to 5e-3 (TF 2.21, AMD EPYC with AVX-512 BF16; the side-by-side run found
# it), enough to flip the sign of Adam's first steps; TF 1.15 and TensorFlow's own kernels
# agree within 1e-6. Off unless the user says otherwise (TF_ENABLE_ONEDNN_OPTS=1). It must be
# set before TensorFlow is imported: every package imports this module first.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
