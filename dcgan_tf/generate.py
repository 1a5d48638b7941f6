"""Sample a trained DCGAN-family run without training code:
`python -m dcgan_tf.generate --checkpoint runs/dcgan_tf --num 64 --output-dir out` writes
out/samples.png (a grid) and out/samples.npz (images, z, and for conditional MNIST the labels);
conditional runs also write out/class_{k}.png, --num samples of each digit.
"""
import os

import numpy as np

from common import cli, latents, rundir
from common.evaluation import generate_parser
from common.grid import save_grid
from dcgan_tf.program import load_run, sample_images, value_range


@cli.exits_cleanly
def main(argv=None):
    args = generate_parser("dcgan_tf", __doc__, 64,
                           "samples (conditional: per class)").parse_args(argv)
    gan, options = load_run(args.checkpoint)
    rundir.claim_output_dir(args.output_dir)
    rng = np.random.default_rng(args.seed)
    count = args.num * (10 if options.mnist else 1)
    z = latents.draw(rng, (count, options.z_dim), options.z_dist)
    labels = np.repeat(np.arange(10), args.num) if options.mnist else None
    y = None if labels is None else np.eye(10, dtype=np.float32)[labels]
    images = np.concatenate([sample_images(gan, options, z[i:i + 100],
                                           None if y is None else y[i:i + 100])
                             for i in range(0, count, 100)])
    save_grid(images, os.path.join(args.output_dir, "samples.png"),
              value_range=value_range(options))
    for k in range(10 if options.mnist else 0):
        save_grid(images[labels == k], os.path.join(args.output_dir, f"class_{k}.png"),
                  value_range=value_range(options))
    arrays = {"images": images, "z": z, **({"labels": labels} if options.mnist else {})}
    np.savez(os.path.join(args.output_dir, "samples.npz"), **arrays)
    print(f"wrote {count} samples to {args.output_dir}")
    return images


if __name__ == "__main__":
    main()
