"""Shared pieces of the five GAN tutorial ports: image I/O, colour, grids, data, callbacks, CLI."""
import os

# TensorFlow's C++ start-up chatter hides the progress bar; a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
