"""Apply an exported pix2pix model to one image:
`python -m pix2pix_tf.infer INPUT OUTPUT --model runs/facades/export.keras`.

Stands in for the original's export graph (an image in, an image out, encoded as PNG or, with
--output_filetype jpeg, JPEG at quality 80) and its server/process-local.py client.
"""
import os

from common import cli
from common.errors import UserError
from common.images import read_image, resize, to_unit
from pix2pix_tf.model import CROP_SIZE
from pix2pix_tf.program import convert_image_dtype, encode_image, load_export

EXTENSIONS = {"png": (".png",), "jpeg": (".jpg", ".jpeg")}


def translate(model, image):
    """uint8 HxWx3 -> uint8 256x256x3. Inputs of another size are resized (bicubic) first;
    the original export graph accepted only 256x256."""
    if image.shape[:2] != (CROP_SIZE, CROP_SIZE):
        image = resize(image, CROP_SIZE, CROP_SIZE, "bicubic")
    return convert_image_dtype(model.predict(to_unit(image)[None], verbose=0)[0])


@cli.exits_cleanly
def main(argv=None):
    parser = cli.tool_parser("python -m pix2pix_tf.infer", __doc__)
    parser.add_argument("input", help="an image (grey and RGBA are converted to RGB)")
    parser.add_argument("output", help="where to write the result (.png, or .jpg for jpeg)")
    parser.add_argument("--model", required=True, help="export.keras from --mode export")
    parser.add_argument("--output_filetype", choices=tuple(EXTENSIONS), default=None,
                        help="png or jpeg (quality 80); default: the one chosen at export")
    args = parser.parse_args(argv)
    model, filetype = load_export(args.model)
    filetype = args.output_filetype or filetype
    extension = os.path.splitext(args.output)[1].lower()
    if extension not in EXTENSIONS[filetype]:
        raise UserError(f"{args.output} does not end with {' or '.join(EXTENSIONS[filetype])}, "
                        f"the extension of --output_filetype {filetype}")
    result = translate(model, read_image(args.input))
    with open(args.output, "wb") as f:
        f.write(encode_image(result, filetype))
    print("wrote", args.output)
    return result


if __name__ == "__main__":
    main()
