"""A page to play with a trained generator: `python -m common.sampler --checkpoint RUN`. Added by
the port (the tutorials only wrote grids), with each program's own sampling.

AC-GAN: class buttons and resample, one latent per row across the classes. DCGAN family
(carpedm20, anime, WGAN): resample, and the interpolation between two samples picked on the
page. O-GAN: two real images (picked from the run's --data, or uploaded), their
reconstructions and the images along the line between their codes, and resampling.
pix2pix runs are served by `python -m pix2pix_tf.serve --model RUN/export.keras`. The server is
common.webapp's.

The run's options.json names its program (the package that trained it); the endpoints are that
package's `sampler.endpoints(checkpoint)`, found by name: common never imports a package.
"""
import importlib
import os

from common import cli, rundir, webapp
from common.errors import UserError

PAGE_DIR = os.path.join(webapp.STATIC_DIR, "sampler")
# Runs written before options.json named the program: the options only that program has.
LEGACY_PROGRAM_KEYS = {"acgan_mnist": ("latent_size",), "dcgan_tf": ("arch", "z_dist", "gf_dim"),
                       "ogan_keras": ("img_dim", "z_dim"),
                       "pix2pix_tf": ("which_direction", "ngf")}


def program_of(run):
    """The package that trained `run`: options.json's "program", or for an older run the one
    whose options it holds."""
    program = getattr(run.options, "program", None)
    if program:
        return program
    programs = [name for name, keys in LEGACY_PROGRAM_KEYS.items()
                if all(hasattr(run.options, key) for key in keys)]
    if len(programs) != 1:
        path = os.path.join(run.output_dir, rundir.OPTIONS_FILE)
        raise UserError(f"{path} is not the options of an AC-GAN, DCGAN-family or O-GAN run "
                        "(none of their options, or several programs'); pass the --output-dir "
                        "of acgan_mnist.train, dcgan_tf.train or ogan_keras.train")
    return programs[0]


def program_sampler(program):
    """`program`'s sampler module (PROGRAM.sampler)."""
    try:
        return importlib.import_module(f"{program}.sampler")
    except ModuleNotFoundError as error:
        raise UserError(f"no sampler for runs of {program!r} ({error})") from None


def make_app(checkpoint):
    """The sampler App of a run directory (its --output-dir or its checkpoint folder)."""
    program = program_of(rundir.find_run(checkpoint))
    info, endpoints = program_sampler(program).endpoints(checkpoint)
    return webapp.App(f"{info['title']} sampler", os.path.join(PAGE_DIR, "index.html"),
                      endpoints, info=info, static_dir=PAGE_DIR)


@cli.exits_cleanly
def main(argv=None):
    parser = cli.tool_parser("python -m common.sampler", __doc__)
    parser.add_argument("--checkpoint", required=True,
                        help="a training run's --output-dir (AC-GAN, DCGAN family or O-GAN)")
    webapp.add_server_flags(parser)
    args = parser.parse_args(argv)
    webapp.serve(make_app(args.checkpoint), args.host, args.port)


if __name__ == "__main__":
    main()
