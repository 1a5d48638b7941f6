"""The DCGAN family's endpoints of `python -m common.sampler` (carpedm20, the anime DCGAN, the
WGAN): resampling, and the interpolation between two samples picked on the page."""
import numpy as np

from common import latents, webapp
from common.images import bytescale, to_uint8
from dcgan_tf import originals
from dcgan_tf.program import load_run, sample_images, value_range

INTERPOLATION_STEPS = 8  # images between the two picked samples


def endpoints(checkpoint):
    """(the page's info, {path: handler}) for the run at `checkpoint`."""
    gan, options = load_run(checkpoint)
    conditional = bool(options.mnist)

    def page_latents(payload):
        """The page's samples: `count` latents of the run's z_dist from "seed"; conditional
        MNIST gives sample i the one-hot digit i mod 10."""
        count = webapp.integer(payload, "count", 20 if conditional else 16, 1, 64)
        z = latents.draw(np.random.default_rng(webapp.seed(payload)), (count, options.z_dim),
                         options.z_dist)
        y = np.eye(10, dtype=np.float32)[np.arange(count) % 10] if conditional else None
        return z, y

    def images(z, y):
        # anime and WGAN grids were stretched to their own min..max (value_range None)
        x = sample_images(gan, options, z, y)
        span = value_range(options)
        return webapp.pngs_base64(bytescale(x) if span is None else to_uint8(x, span))

    def sample(payload):
        """{"seed", "count"}: the samples."""
        return {"images": images(*page_latents(payload))}

    def interpolate(payload):
        """{"seed", "count", "a", "b"}: samples a and b of that draw and the straight line
        between their latents (and, conditional, between their one-hot digits)."""
        z, y = page_latents(payload)
        a = webapp.integer(payload, "a", 0, 0, len(z) - 1)
        b = webapp.integer(payload, "b", 1, 0, len(z) - 1)
        t = np.linspace(0.0, 1.0, INTERPOLATION_STEPS + 2, dtype=np.float32)[:, None]
        mix = lambda v: (1 - t) * v[a] + t * v[b]
        return {"images": images(mix(z), None if y is None else mix(y))}

    info = {"program": "dcgan", "title": originals.of(options).TITLE, "conditional": conditional}
    return info, {"/sample": sample, "/interpolate": interpolate}
