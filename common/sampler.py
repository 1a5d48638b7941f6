"""A page to play with a trained generator: `python -m common.sampler --checkpoint RUN`. Added by
the port (the tutorials only wrote grids), with each program's own sampling from its run.py.

AC-GAN: class buttons and resample, one latent per row across the classes. DCGAN family
(carpedm20, anime, WGAN): resample, and the interpolation between two samples picked on the
page. O-GAN: two real images (picked from the run's --data, or uploaded), their
reconstructions and the images along the line between their codes, and resampling.
The run's program is read from its options.json; pix2pix runs are served by
`python -m pix2pix_tf.serve --model RUN/export.keras`. The server is common.webapp's.
"""
import os

import numpy as np

from common import cli, rundir, webapp
from common.callbacks import draw_latents
from common.data import list_images
from common.errors import UserError
from common.images import bytescale, resize, to_signed, to_uint8

PAGE_DIR = os.path.join(webapp.STATIC_DIR, "sampler")
# Options only that program's train.py has: a run is of the program whose keys it holds.
PROGRAM_KEYS = {"acgan": ("latent_size",), "dcgan": ("arch", "z_dist", "gf_dim"),
                "ogan": ("img_dim", "z_dim"), "pix2pix": ("which_direction", "ngf")}
MAX_SEED = 2 ** 31 - 1
REAL_IMAGES = 12  # O-GAN: real images offered for picking
INTERPOLATION_STEPS = 8  # DCGAN: images between the two picked samples


def program_of(run):
    """acgan, dcgan or ogan: the program whose options the run's options.json holds."""
    programs = [name for name, keys in PROGRAM_KEYS.items()
                if all(hasattr(run.options, key) for key in keys)]
    path = os.path.join(run.output_dir, rundir.OPTIONS_FILE)
    if programs == ["pix2pix"]:
        raise UserError(f"{run.output_dir} is a pix2pix run: export it (python -m "
                        "pix2pix_tf.train --mode export --checkpoint RUN) and serve the export "
                        "with python -m pix2pix_tf.serve --model EXPORT/export.keras")
    if len(programs) != 1:
        raise UserError(f"{path} is not the options of an AC-GAN, DCGAN-family or O-GAN run "
                        "(none of their options, or several programs'); pass the --output-dir "
                        "of acgan_mnist.train, dcgan_tf.train or ogan_keras.train")
    return programs[0]


def seed(payload):
    return webapp.integer(payload, "seed", 0, 0, MAX_SEED)


# ---- AC-GAN ----

def acgan(checkpoint):
    from acgan_mnist.model import NUM_CLASSES
    from acgan_mnist.run import load_generator
    generator, options = load_generator(checkpoint)

    def sample(payload):
        """{"seed", "rows", "classes"}: rows x classes images, row r with one latent (the
        example's U(-1, 1) noise) in every chosen class, as its plots drew them."""
        rows = webapp.integer(payload, "rows", 8, 1, 20)
        classes = payload.get("classes", list(range(NUM_CLASSES)))
        if not isinstance(classes, list) or not classes or not all(
                isinstance(k, int) and not isinstance(k, bool) and 0 <= k < NUM_CLASSES
                for k in classes):
            raise webapp.BadRequest(f'"classes" must be a list of digits 0 to {NUM_CLASSES - 1}')
        noise = np.random.default_rng(seed(payload)).uniform(
            -1, 1, (rows, options.latent_size)).astype(np.float32)
        labels = np.tile(np.array(classes), rows)[:, None]
        images = generator([np.repeat(noise, len(classes), axis=0), labels], training=False)
        return {"images": encoded(to_uint8(np.asarray(images))), "columns": len(classes)}

    return {"program": "acgan", "title": "AC-GAN", "classes": NUM_CLASSES}, {"/sample": sample}


# ---- DCGAN family ----

def dcgan(checkpoint):
    from dcgan_tf.run import load_run, sample_images, value_range
    gan, options = load_run(checkpoint)
    conditional = bool(options.mnist)

    def latents(payload):
        """The page's samples: `count` latents of the run's z_dist from "seed"; conditional
        MNIST gives sample i the one-hot digit i mod 10."""
        count = webapp.integer(payload, "count", 20 if conditional else 16, 1, 64)
        z = draw_latents(np.random.default_rng(seed(payload)), (count, options.z_dim),
                         options.z_dist)
        y = np.eye(10, dtype=np.float32)[np.arange(count) % 10] if conditional else None
        return z, y

    def images(z, y):
        # anime and WGAN grids were stretched to their own min..max (value_range None)
        x = sample_images(gan, options, z, y)
        span = value_range(options)
        return encoded(bytescale(x) if span is None else to_uint8(x, span))

    def sample(payload):
        """{"seed", "count"}: the samples."""
        return {"images": images(*latents(payload))}

    def interpolate(payload):
        """{"seed", "count", "a", "b"}: samples a and b of that draw and the straight line
        between their latents (and, conditional, between their one-hot digits)."""
        z, y = latents(payload)
        a = webapp.integer(payload, "a", 0, 0, len(z) - 1)
        b = webapp.integer(payload, "b", 1, 0, len(z) - 1)
        t = np.linspace(0.0, 1.0, INTERPOLATION_STEPS + 2, dtype=np.float32)[:, None]
        mix = lambda v: (1 - t) * v[a] + t * v[b]
        return {"images": images(mix(z), None if y is None else mix(y))}

    info = {"program": "dcgan", "title": {"dcgan": "DCGAN", "anime": "anime DCGAN",
                                          "wgan": "WGAN"}[options.arch],
            "conditional": conditional}
    return info, {"/sample": sample, "/interpolate": interpolate}


# ---- O-GAN ----

def ogan(checkpoint):
    from ogan_keras.run import image_spec, interpolation_grid, load_run, reconstruction_grid
    gan, options = load_run(checkpoint)
    spec = image_spec(options.img_dim)

    def sample(payload):
        """{"seed", "count"}: G(z), z ~ N(0, 1), as ogan_keras.generate."""
        count = webapp.integer(payload, "count", 16, 1, 64)
        z = draw_latents(np.random.default_rng(seed(payload)), (count, options.z_dim))
        return {"images": encoded(to_uint8(gan.generator.predict(z, verbose=0)))}

    def interpolate(payload):
        """{"a", "b"}: two images (base64) at the run's size, their reconstructions
        G(E(x)) and the Trainer's interpolation row from one code to the other."""
        pair = np.stack([to_signed(resize(webapp.decode_image(payload, key), *spec.size,
                                          spec.method)) for key in ("a", "b")])
        reconstructions = reconstruction_grid(gan)(pair)[1::2]
        return {"reconstructions": encoded(to_uint8(reconstructions)),
                "images": encoded(to_uint8(interpolation_grid(gan)(pair)))}

    info = {"program": "ogan", "title": "O-GAN", "size": options.img_dim,
            "real": encoded(real_images(options.data, spec))}
    return info, {"/sample": sample, "/interpolate": interpolate}


def real_images(data, spec):
    """Up to REAL_IMAGES readable images of the run's --data at its size (none when the data
    is not on this machine: the page then asks for uploads)."""
    try:
        paths = list_images(data)
    except UserError as error:
        print(f"note: no real images to pick ({error}); upload two on the page")
        return np.zeros((0, *spec.size, 3), np.uint8)
    images = []
    for path in paths:
        try:
            images.append(spec.read(path))
        except UserError:
            continue
        if len(images) == REAL_IMAGES:
            break
    return np.array(images, np.uint8).reshape((-1, *spec.size, 3))


# ---- the app ----

def encoded(images):
    """uint8 N x H x W x C -> N base64 PNGs."""
    return [webapp.png_base64(image) for image in images]


# Each builder imports its program's run.py only when called: the packages import common, so
# importing them here at module level would close an import circle.
PROGRAMS = {"acgan": acgan, "dcgan": dcgan, "ogan": ogan}


def make_app(checkpoint):
    """The sampler App of a run directory (its --output-dir or its checkpoint folder)."""
    program = program_of(rundir.find_run(checkpoint))
    info, endpoints = PROGRAMS[program](checkpoint)
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
