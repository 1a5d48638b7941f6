"""AC-GAN's endpoints of `python -m common.sampler`: class buttons and resampling, one latent per
row across the chosen classes, as the example's plots drew them."""
import numpy as np

from acgan_mnist.model import NUM_CLASSES
from acgan_mnist.program import load_run
from common import webapp
from common.images import to_uint8


def endpoints(checkpoint):
    """(the page's info, {path: handler}) for the run at `checkpoint`."""
    gan, options = load_run(checkpoint)
    generator = gan.generator

    def sample(payload):
        """{"seed", "rows", "classes"}: rows x classes images, row r with one latent (the
        example's U(-1, 1) noise) in every chosen class, as its plots drew them."""
        rows = webapp.integer(payload, "rows", 8, 1, 20)
        classes = payload.get("classes", list(range(NUM_CLASSES)))
        if not isinstance(classes, list) or not classes or not all(
                isinstance(k, int) and not isinstance(k, bool) and 0 <= k < NUM_CLASSES
                for k in classes):
            raise webapp.BadRequest(f'"classes" must be a list of digits 0 to {NUM_CLASSES - 1}')
        noise = np.random.default_rng(webapp.seed(payload)).uniform(
            -1, 1, (rows, options.latent_size)).astype(np.float32)
        labels = np.tile(np.array(classes), rows)[:, None]
        images = generator([np.repeat(noise, len(classes), axis=0), labels], training=False)
        return {"images": webapp.pngs_base64(to_uint8(np.asarray(images))),
                "columns": len(classes)}

    return {"program": "acgan", "title": "AC-GAN", "classes": NUM_CLASSES}, {"/sample": sample}
