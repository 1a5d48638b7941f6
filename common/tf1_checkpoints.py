"""TF1 Saver checkpoints (carpedm20, pix2pix), read with TensorFlow's checkpoint reader: plain
NumPy arrays by the original's variable names; no code from them is run."""
import os

from common.errors import UserError


def tf1_checkpoint_prefix(path):
    """The checkpoint prefix of `path`: a prefix (model-100, DCGAN.model-7), one of its files
    (.index, .meta, .data-*), or a folder whose `checkpoint` file names the newest (or that
    file itself)."""
    import tensorflow as tf
    if os.path.basename(path) == "checkpoint" and os.path.isfile(path):
        path = os.path.dirname(path) or "."  # the Saver's state file: its folder's newest
    if os.path.isdir(path):
        prefix = _named_in_folder(path) or tf.train.latest_checkpoint(path)
        if prefix is None:
            raise UserError(f"{path} holds no TF1 checkpoint (no 'checkpoint' file naming one)")
        return prefix
    for suffix in (".index", ".meta"):
        if path.endswith(suffix):
            return path[:-len(suffix)]
    if ".data-" in os.path.basename(path):
        return path[:path.rindex(".data-")]
    return path


def _named_in_folder(folder):
    """The newest checkpoint the `checkpoint` file names, looked up in `folder` itself, as
    carpedm20's load() did: the file may record a path of the machine that wrote it, or the
    path of the folder this one was copied from."""
    import tensorflow as tf
    try:
        state = tf.train.get_checkpoint_state(folder)
    except (tf.errors.OpError, ValueError):
        return None
    if not state or not state.model_checkpoint_path:
        return None
    prefix = os.path.join(folder, os.path.basename(state.model_checkpoint_path))
    return prefix if os.path.exists(prefix + ".index") or os.path.exists(prefix) else None


def tf1_checkpoint(path):
    """{variable name: array} of a TF1 Saver checkpoint (V1 or V2 format)."""
    import tensorflow as tf
    prefix = tf1_checkpoint_prefix(path)
    try:
        reader = tf.train.load_checkpoint(prefix)
        names = reader.get_variable_to_shape_map()
        return {name: reader.get_tensor(name) for name in sorted(names)}
    except (tf.errors.OpError, ValueError) as error:
        raise UserError(f"cannot read the TF1 checkpoint {prefix} "
                        f"({str(error).splitlines()[0]})") from error
