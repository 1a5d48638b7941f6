"""pix2pix in the browser, as affinelayer's server/ demo: draw or upload an image, see the
model's translation: `python -m pix2pix_tf.serve --model RUN/export.keras [--port 8000]`.

The page (pix2pix_tf/static/) has the original editor's pen, eraser and clear, and an upload;
the output appears beside the input. Scripts can use the endpoint the page uses, the contract
of the original's export graph: POST /translate {"input": "<base64 PNG or JPEG>"} answers
{"output": "<base64 PNG>"} (JPEG at quality 80 with --output_filetype jpeg), or a 4xx with
{"error": "..."}. The server is the standard library's ThreadingHTTPServer (common.webapp
says why); it listens on 127.0.0.1 unless --host says otherwise.
"""
import base64
import os

from common import cli, webapp
from pix2pix_tf.infer import translate
from pix2pix_tf.model import CROP_SIZE
from pix2pix_tf.program import encode_image, load_export

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")


def translate_endpoint(model, filetype):
    """POST /translate: {"input": base64 image} -> {"output": base64 PNG or JPEG}; any size
    is resized (bicubic) to the model's 256x256, as pix2pix_tf.infer."""
    def endpoint(payload):
        output = translate(model, webapp.decode_image(payload, "input"))
        return {"output": base64.b64encode(encode_image(output, filetype)).decode("ascii")}
    return endpoint


def make_app(model, filetype):
    return webapp.App("pix2pix", os.path.join(STATIC_DIR, "index.html"),
                      {"/translate": translate_endpoint(model, filetype)},
                      info={"size": CROP_SIZE, "output_filetype": filetype},
                      static_dir=STATIC_DIR)


@cli.exits_cleanly
def main(argv=None):
    parser = cli.tool_parser("python -m pix2pix_tf.serve", __doc__)
    parser.add_argument("--model", required=True, help="export.keras from --mode export")
    parser.add_argument("--output_filetype", choices=("png", "jpeg"), default=None,
                        help="png or jpeg (quality 80); default: the one chosen at export")
    webapp.add_server_flags(parser)
    args = parser.parse_args(argv)
    model, filetype = load_export(args.model)
    webapp.serve(make_app(model, args.output_filetype or filetype), args.host, args.port)


if __name__ == "__main__":
    main()
