"""O-GAN's endpoints of `python -m common.sampler`: two real images (picked from the run's
--data, or uploaded), their reconstructions and the images along the line between their codes,
and resampling."""
import numpy as np

from common import latents, webapp
from common.errors import UserError
from common.files import list_images
from common.images import resize, to_signed, to_uint8
from ogan_keras.program import image_spec, interpolation_grid, load_run, reconstruction_grid

REAL_IMAGES = 12  # real images offered for picking


def endpoints(checkpoint):
    """(the page's info, {path: handler}) for the run at `checkpoint`."""
    gan, options = load_run(checkpoint)
    spec = image_spec(options.img_dim)

    def sample(payload):
        """{"seed", "count"}: G(z), z ~ N(0, 1), as ogan_keras.generate."""
        count = webapp.integer(payload, "count", 16, 1, 64)
        z = latents.draw(np.random.default_rng(webapp.seed(payload)), (count, options.z_dim))
        return {"images": webapp.pngs_base64(to_uint8(gan.generator.predict(z, verbose=0)))}

    def interpolate(payload):
        """{"a", "b"}: two images (base64) at the run's size, their reconstructions
        G(E(x)) and the Trainer's interpolation row from one code to the other."""
        pair = np.stack([to_signed(resize(webapp.decode_image(payload, key), *spec.size,
                                          spec.method)) for key in ("a", "b")])
        reconstructions = reconstruction_grid(gan)(pair)[1::2]
        return {"reconstructions": webapp.pngs_base64(to_uint8(reconstructions)),
                "images": webapp.pngs_base64(to_uint8(interpolation_grid(gan)(pair)))}

    info = {"program": "ogan", "title": "O-GAN", "size": options.img_dim,
            "real": webapp.pngs_base64(real_images(options.data, spec))}
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
