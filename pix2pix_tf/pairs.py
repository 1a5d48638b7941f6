"""pix2pix's examples: the list of A|B images (list_paired_images) and the transform of one
decoded image into (inputs, targets) as pix2pix.py's load_examples made them."""
import glob
import os

import tensorflow as tf
from PIL import Image

from common.color import preprocess_lab, rgb_to_lab
from common.errors import UserError


def list_paired_images(input_dir, split=True):
    """pix2pix's input list: input_dir/*.jpg, or *.png when there are no JPEGs; sorted, by
    number when every stem is digits. With `split`, every image must be cut into equal A|B
    halves, checked from the headers up front so a bad file stops the run before training."""
    if not os.path.isdir(input_dir):
        raise UserError(f"--input_dir {input_dir} does not exist")
    paths = glob.glob(os.path.join(input_dir, "*.jpg")) or \
        glob.glob(os.path.join(input_dir, "*.png"))
    if not paths:
        raise UserError(f"--input_dir {input_dir} contains no image files (*.jpg or *.png)")
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if all(stem.isdigit() for stem in stems):
        paths = [p for _, p in sorted(zip((int(s) for s in stems), paths))]
    else:
        paths = sorted(paths)
    if split:
        for path in paths:
            width = _image_width(path)
            if width is not None and (width < 2 or width % 2):
                raise UserError(f"{path} is {width} pixels wide and cannot be split into equal "
                                "A|B halves; combine pairs with pix2pix_tf.process --operation "
                                "combine, or use --lab_colorization for single photos")
    return paths


def _image_width(path):
    try:
        with Image.open(path) as image:
            return image.size[0]
    except (OSError, ValueError, SyntaxError):
        return None  # unreadable: skipped and counted when decoded


def paired_transform(which_direction="AtoB", lab_colorization=False, scale_size=286,
                     crop_size=256, flip=True, seed=0):
    """transform(image, seed_pair): one decoded sRGB image in [0, 1] -> (inputs, targets) in
    [-1, 1], as pix2pix's load_examples: A|B halves (or Lab L | ab), direction, then a
    random flip, an AREA resize to scale_size and one random crop_size crop, all applied to
    inputs and targets together (they are stacked on the channel axis), so the pair stays
    aligned. The flip and crop are drawn with stateless ops from `seed_pair` (default
    (seed, 0)): ImageFolder.dataset passes each image's place in the stream, so a resumed
    run draws what the uninterrupted one drew."""
    def transform(image, seed_pair=None):
        if seed_pair is None:
            seed_pair = tf.constant([seed, 0], tf.int64)
        flip_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(seed_pair, 2))
        if lab_colorization:
            a_images, b_images = preprocess_lab(rgb_to_lab(image))
        else:
            half = tf.shape(image)[1] // 2
            a_images, b_images = image[:, :half] * 2 - 1, image[:, half:2 * half] * 2 - 1
        inputs, targets = (a_images, b_images) if which_direction == "AtoB" else \
            (b_images, a_images)
        input_channels = inputs.shape[-1]
        both = tf.concat([inputs, targets], axis=-1)
        if flip:
            both = tf.image.stateless_random_flip_left_right(both, flip_seed)
        both = tf.image.resize(both, [scale_size, scale_size], method="area")
        if scale_size > crop_size:
            offset = tf.cast(tf.floor(tf.random.stateless_uniform(
                [2], crop_seed, 0, scale_size - crop_size + 1)), tf.int32)
            both = both[offset[0]:offset[0] + crop_size, offset[1]:offset[1] + crop_size]
        both = tf.ensure_shape(both, (crop_size, crop_size, None))
        return both[..., :input_channels], both[..., input_channels:]
    return transform
