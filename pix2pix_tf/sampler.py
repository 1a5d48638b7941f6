"""pix2pix in `python -m common.sampler`: its runs are served by pix2pix_tf.serve from an export
(a translation page, not a sampler)."""
from common.errors import UserError


def endpoints(checkpoint):
    raise UserError(f"{checkpoint} is a pix2pix run: export it (python -m pix2pix_tf.train "
                    "--mode export --checkpoint RUN) and serve the export with python -m "
                    "pix2pix_tf.serve --model EXPORT/export.keras")
