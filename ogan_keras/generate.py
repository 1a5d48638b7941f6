"""Sample a trained O-GAN without training code:
`python -m ogan_keras.generate --checkpoint runs/ogan_keras --num 64 --output-dir out` writes
samples.png (G(z), z ~ N(0, 1)), reconstructions.png (real images beside G(E(x)), as the
Trainer's test_ae), interpolations.png (rows from one real image's code to another's) and
samples.npz with the arrays, all in inference mode.
"""
import os

import numpy as np

from common import cli, latents, rundir
from common.cache import image_folder
from common.evaluation import generate_parser
from common.grid import save_grid
from ogan_keras.program import (INTERPOLATION_PAIRS, INTERPOLATION_STEPS, RECONSTRUCTIONS,
                                fixed_real_images, image_spec, interpolation_grid, load_run,
                                reconstruction_grid)


@cli.exits_cleanly
def main(argv=None):
    parser = generate_parser("ogan_keras", __doc__, 64, "samples")
    parser.add_argument("--data", default=None, help="real images (default: the run's --data)")
    args = parser.parse_args(argv)
    gan, options = load_run(args.checkpoint)
    folder = image_folder(args.data or options.data, image_spec(options.img_dim), 1,
                          seed=args.seed, limit=2 * RECONSTRUCTIONS)
    rundir.claim_output_dir(args.output_dir)
    z = latents.draw(np.random.default_rng(args.seed), (args.num, options.z_dim))
    samples = gan.generator.predict(z, verbose=0)
    reconstructions = reconstruction_grid(gan)(fixed_real_images(folder, RECONSTRUCTIONS))
    interpolations = interpolation_grid(gan)(fixed_real_images(folder, 2 * INTERPOLATION_PAIRS))
    out = args.output_dir
    save_grid(samples, os.path.join(out, "samples.png"))
    save_grid(reconstructions, os.path.join(out, "reconstructions.png"), size=(8, 8))
    save_grid(interpolations, os.path.join(out, "interpolations.png"),
              size=(INTERPOLATION_PAIRS, INTERPOLATION_STEPS + 2))
    np.savez(os.path.join(out, "samples.npz"), samples=samples, z=z,
             reconstructions=reconstructions, interpolations=interpolations)
    print(f"wrote {len(samples)} samples, reconstructions and interpolations to {out}")
    return samples


if __name__ == "__main__":
    main()
