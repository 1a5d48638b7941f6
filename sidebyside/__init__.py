"""Run the tutorials' original programs, unmodified, in their own frameworks beside the ports."""
# common sets TensorFlow's environment and must come before any TensorFlow import
import common  # noqa: F401
