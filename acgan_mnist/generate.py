"""Sample a trained AC-GAN without training code:
`python -m acgan_mnist.generate --checkpoint runs/acgan_mnist --num 100 --output-dir out`
writes out/class_{k}.png (a grid of --num samples of class k), out/samples.npz (images in
[-1, 1], labels, noise) for classes 0..9, in inference mode as the example's plots.
"""
import os

import numpy as np

from acgan_mnist.model import NUM_CLASSES
from acgan_mnist.program import load_run
from common import cli, latents, rundir
from common.evaluation import generate_parser
from common.grid import save_grid


@cli.exits_cleanly
def main(argv=None):
    args = generate_parser("acgan_mnist", __doc__, 100, "samples per class").parse_args(argv)
    gan, options = load_run(args.checkpoint)
    generator = gan.generator
    rundir.claim_output_dir(args.output_dir)
    rng = np.random.default_rng(args.seed)
    noise = latents.draw(rng, (NUM_CLASSES * args.num, options.latent_size), "uniform_signed")
    labels = np.repeat(np.arange(NUM_CLASSES), args.num)[:, None]
    images = generator.predict([noise, labels], batch_size=100, verbose=0)
    for k in range(NUM_CLASSES):
        save_grid(images[labels[:, 0] == k], os.path.join(args.output_dir, f"class_{k}.png"))
    np.savez(os.path.join(args.output_dir, "samples.npz"), images=images, labels=labels[:, 0],
             noise=noise)
    print(f"wrote {len(images)} samples to {args.output_dir}")
    return images, labels[:, 0]


if __name__ == "__main__":
    main()
