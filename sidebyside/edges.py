"""edges2shoes-style A|B pairs from an MNIST-format dataset's shoes, for a pix2pix side-by-side
run on a machine without photo pairs: `python -m sidebyside.edges --data-dir
/usr/share/datasets/fashion-mnist --output DIR [--train 400 --val 100]`.

Fashion-MNIST's sandals, sneakers and ankle boots (classes 5, 7, 9), each scaled to 256x256
(bicubic) and turned dark on white as edges2shoes' product photos are; A is its edge map (the
gradient magnitude of the scaled image, thresholded: black lines on white), B the shoe. DIR/train
gets the first --train shoes of the training split (400: facades' size), DIR/val the first --val
of the test split: pairs the run never trains on, for `python -m sidebyside pix2pix --held-out`.
"""
import os

import numpy as np
from PIL import Image

from common import cli
from common.mnist import load_mnist

SHOES = (5, 7, 9)  # Fashion-MNIST: sandal, sneaker, ankle boot
SIZE = 256
EDGE_THRESHOLD = 0.12  # of the largest possible gradient magnitude of a [0, 1] image


def shoe(image):
    """A 28x28 uint8 digit-style image (light on black) as a 256x256 [0, 1] shoe, dark on
    white."""
    scaled = Image.fromarray(image).resize((SIZE, SIZE), Image.BICUBIC)
    return 1.0 - np.asarray(scaled, np.float32) / 255.0


def edges(picture):
    """Black lines on white where the central-difference gradient of `picture` is strong."""
    gy, gx = np.gradient(picture)
    return np.where(np.hypot(gx, gy) > EDGE_THRESHOLD * 0.5, 0.0, 1.0)


def write_pairs(images, labels, folder, count):
    """The first `count` shoes of `images` as folder/N.png (A | B, RGB); returns how many."""
    os.makedirs(folder, exist_ok=True)
    picked = np.flatnonzero(np.isin(labels, SHOES))[:count]
    for n, index in enumerate(picked, 1):
        picture = shoe(images[index])
        pair = np.concatenate([edges(picture), picture], axis=1)
        rgb = np.repeat(np.rint(pair * 255).astype(np.uint8)[..., None], 3, axis=-1)
        Image.fromarray(rgb).save(os.path.join(folder, f"{n}.png"))
    return len(picked)


@cli.exits_cleanly
def main(argv=None):
    parser = cli.tool_parser("python -m sidebyside.edges", __doc__)
    parser.add_argument("--data-dir", required=True,
                        help="an MNIST-format IDX folder or .npz holding Fashion-MNIST")
    parser.add_argument("--output", required=True)
    parser.add_argument("--train", type=cli.positive_int, default=400)
    parser.add_argument("--val", type=cli.positive_int, default=100)
    args = parser.parse_args(argv)
    (x_train, y_train), (x_test, y_test) = load_mnist(args.data_dir)
    for split, images, labels, count in (("train", x_train, y_train, args.train),
                                         ("val", x_test, y_test, args.val)):
        written = write_pairs(images, labels, os.path.join(args.output, split), count)
        print(f"wrote {written} pairs to {os.path.join(args.output, split)}")


if __name__ == "__main__":
    main()
