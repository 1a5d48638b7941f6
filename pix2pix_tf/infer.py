"""Apply an exported pix2pix model to one image:
`python -m pix2pix_tf.infer INPUT OUTPUT --model runs/facades/export.keras`.

Stands in for the original's export graph (base64 PNG in, base64 PNG out) and its
server/process-local.py client: a .keras model that maps an image to an image.
"""
import os

import keras
from PIL import Image

import pix2pix_tf.model  # noqa: F401  (registers the custom layers for load_model)
from common import cli
from common.errors import UserError
from common.images import read_image, resize, to_unit
from pix2pix_tf.model import CROP_SIZE
from pix2pix_tf.run import to_uint8


def translate(model, image):
    """uint8 HxWx3 -> uint8 256x256x3. Inputs of another size are resized (bicubic) first;
    the original export graph accepted only 256x256."""
    if image.shape[:2] != (CROP_SIZE, CROP_SIZE):
        image = resize(image, CROP_SIZE, CROP_SIZE, "bicubic")
    return to_uint8(model.predict(to_unit(image)[None], verbose=0)[0])


@cli.exits_cleanly
def main(argv=None):
    parser = cli.tool_parser("python -m pix2pix_tf.infer", __doc__)
    parser.add_argument("input", help="an image (grey and RGBA are converted to RGB)")
    parser.add_argument("output", help="where to write the result (.png or .jpg)")
    parser.add_argument("--model", required=True, help="export.keras from --mode export")
    args = parser.parse_args(argv)
    if not os.path.exists(args.model):
        raise UserError(f"--model {args.model} does not exist; make it with "
                        "python -m pix2pix_tf.train --mode export --checkpoint RUN")
    model = keras.saving.load_model(args.model)
    result = translate(model, read_image(args.input))
    Image.fromarray(result).save(args.output, quality=80)
    print("wrote", args.output)
    return result


if __name__ == "__main__":
    main()
