"""carpedm20's utils.visualize() options on a trained checkpoint:
`python -m dcgan_tf.visualize --checkpoint_dir runs/dcgan_tf/checkpoints --option 1`.

0 random grid, 1 per-z-dimension sweeps (grids), 2 sweeps around a small random z (GIFs),
3 sweeps from z = 0 (GIFs), 4 as 3 plus one merged GIF of all dimensions.
"""
import math
import os
import time

import numpy as np

from common import cli
from common.errors import UserError
from common.grid import image_manifold_size, merge, save_gif, save_grid
from common.images import to_uint8
from dcgan_tf.program import load_run, sample_images, value_range


def random_labels(args, rng):
    """MNIST runs are conditional: carpedm20 fed random one-hot y."""
    return np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.batch_size)] if args.mnist \
        else None


def sweep(z, idx, args):
    """Set dimension idx of row k to k / batch_size (carpedm20's `values`)."""
    z = np.array(z, dtype=np.float32)
    z[:, idx] = np.arange(0, 1, 1.0 / args.batch_size)[:len(z)]
    return z


def visualize(gan, args, option, sample_dir=None, seed=None):
    """Write option's files into sample_dir (the run's --sample_dir by default)."""
    sample_dir = sample_dir or os.path.join(args.output_dir, args.sample_dir)
    os.makedirs(sample_dir, exist_ok=True)
    rng = np.random.default_rng(args.seed if seed is None else seed)
    batch, z_dim = args.batch_size, args.z_dim
    frame_dim = int(math.ceil(math.sqrt(batch)))
    size, vrange = (frame_dim, frame_dim), value_range(args)
    # GIF frames: carpedm20's make_gif wrote (x + 1) / 2 * 255, never byte-scaled
    gif_range = vrange or (-1.0, 1.0)
    written = []

    def generate(z):
        return sample_images(gan, args, z.astype(np.float32), random_labels(args, rng))

    if option == 0:
        z = rng.uniform(-0.5, 0.5, (batch, z_dim))
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        written.append(save_grid(generate(z), os.path.join(sample_dir, f"test_{stamp}.png"),
                                 size, vrange))
    elif option == 1:
        for idx in range(z_dim):
            z = sweep(rng.uniform(-1, 1, (batch, z_dim)), idx, args)
            written.append(save_grid(generate(z), os.path.join(
                sample_dir, f"test_arange_{idx}.png"), size, vrange))
    elif option == 2:
        for idx in rng.integers(0, z_dim, z_dim):
            z = sweep(np.tile(rng.uniform(-0.2, 0.2, z_dim), (batch, 1)), idx, args)
            written.append(save_gif(list(to_uint8(generate(z), gif_range)), os.path.join(
                sample_dir, f"test_gif_{idx}.gif"), 2.0 / batch))
    elif option in (3, 4):
        image_set = []
        for idx in range(z_dim):
            image_set.append(generate(sweep(np.zeros((batch, z_dim)), idx, args)))
            written.append(save_gif(list(to_uint8(image_set[-1], gif_range)), os.path.join(
                sample_dir, f"test_gif_{idx}.gif"), 2.0 / batch))
        if option == 4:
            # Walk frame index 0..batch-1 and back; each frame tiles every dimension's image.
            order = list(range(batch)) + list(range(batch - 1, -1, -1))
            merged = [merge(to_uint8(np.stack([images[t] for images in image_set]), gif_range),
                            image_manifold_size(z_dim)) for t in order]
            written.append(save_gif(merged, os.path.join(sample_dir, "test_gif_merged.gif"),
                                    8.0 / len(merged)))
    else:
        raise UserError(f"--option {option} is not one of 0, 1, 2, 3, 4")
    return written


@cli.exits_cleanly
def main(argv=None):
    parser = cli.tool_parser("python -m dcgan_tf.visualize", __doc__)
    parser.add_argument("--checkpoint_dir", required=True,
                        help="a run's checkpoints folder (options.json beside it)")
    parser.add_argument("--option", type=int, default=1, choices=range(5))
    parser.add_argument("--sample_dir", default=None, help="default: the run's sample_dir")
    parser.add_argument("--seed", type=int, default=None, help="default: the run's seed")
    args = parser.parse_args(argv)
    gan, run_args = load_run(args.checkpoint_dir)
    written = visualize(gan, run_args, args.option, args.sample_dir, args.seed)
    print(f"wrote {len(written)} files to {os.path.dirname(written[0])}")


if __name__ == "__main__":
    main()
