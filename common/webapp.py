"""The small web server behind `python -m pix2pix_tf.serve` and `python -m common.sampler`: the
project's own static files, JSON endpoints with size limits and JSON error replies, one lock.

Stands in for affinelayer's server/serve.py. It is the standard library's ThreadingHTTPServer
(http.server), not a framework: a demo that serves one page and two or three endpoints needs
no dependency, a thread per connection keeps a slow upload from holding up the others, and
the model calls are serialised by a lock anyway, so an asynchronous server would buy nothing.
"""
import argparse
import base64
import binascii
import io
import json
import os
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import numpy as np
from PIL import Image, UnidentifiedImageError

from common import cli
from common.errors import UserError, describe
from common.images import opened

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_BODY = 16 * 2 ** 20  # bytes of JSON: a 12 MB photo, once in base64
DISCARD_SECONDS = 2.0  # how long a refused body is read and dropped (Handler.discard_body)
# Formats an upload may be in: Pillow opens more (EPS through Ghostscript, for one), and a
# server has no reason to run those decoders on a stranger's bytes.
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".ico": "image/x-icon"}
# The page may load only what this server sends, and show the images the endpoints return.
PAGE_POLICY = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'"


class BadRequest(Exception):
    """A request the server refuses: the HTTP status and one line for {"error": ...}."""

    def __init__(self, message, status=HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


class App:
    """What a server serves: `index` (an HTML file) at /, the files of common/static and of
    `static_dir` at /static/NAME, `info` as JSON at /info, and `endpoints`, URL path ->
    function(JSON object) -> JSON object, for POST. Endpoints run one at a time (`lock`):
    Keras models are not meant to be called from several threads at once."""

    def __init__(self, title, index, endpoints, info=None, static_dir=None,
                 max_body=MAX_BODY):
        self.title, self.endpoints, self.max_body = title, endpoints, max_body
        self.files = static_files([STATIC_DIR] + ([static_dir] if static_dir else []))
        self.files["/"] = page(index)
        self.files["/info"] = ("application/json", json.dumps(info or {}).encode())
        self.lock = threading.Lock()


def page(path):
    with open(path, "rb") as f:
        return CONTENT_TYPES[".html"], f.read()


def static_files(folders):
    """/static/NAME -> (content type, bytes) for the files directly in `folders`, read once at
    start-up: the only files the server ever sends, so no URL, however encoded, can reach
    another file (no path traversal)."""
    files = {}
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            content_type = CONTENT_TYPES.get(os.path.splitext(name)[1])
            if content_type and os.path.isfile(path):
                with open(path, "rb") as f:
                    files[f"/static/{name}"] = (content_type, f.read())
    return files


class Handler(BaseHTTPRequestHandler):
    """GET: a file of App.files or 404; POST: an App endpoint. Every error is JSON."""
    server_version = "gan-tutorials-keras3"
    timeout = 60  # seconds a stalled client may hold its thread

    def do_GET(self):
        path = urlsplit(self.path).path
        if path not in self.server.app.files:
            self.send_error(HTTPStatus.NOT_FOUND, f"no such page: {path}")
            return
        content_type, body = self.server.app.files[path]
        self.reply(HTTPStatus.OK, body, content_type)

    def do_POST(self):
        self.body_read = False
        app = self.server.app
        endpoint = app.endpoints.get(urlsplit(self.path).path)
        try:
            if endpoint is None:
                raise BadRequest(f"no such endpoint: POST {urlsplit(self.path).path}",
                                 HTTPStatus.NOT_FOUND)
            payload = self.read_json()
            with app.lock:
                answer = endpoint(payload)
        except BadRequest as error:
            self.send_error(error.status, str(error))
        except UserError as error:
            self.send_error(HTTPStatus.BAD_REQUEST, str(error))
        except Exception as error:  # a bug must not take the server down; it is logged
            traceback.print_exc(file=sys.stderr)
            self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR,
                            f"the server failed on this request ({describe(error)})")
        else:
            self.reply(HTTPStatus.OK, json.dumps(answer).encode(), "application/json")

    def read_json(self):
        """The body as a JSON object. Its size is checked against Content-Length before any of
        it is read; a body over the limit is refused unread."""
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            raise BadRequest("chunked bodies are not accepted; send a Content-Length",
                             HTTPStatus.LENGTH_REQUIRED)
        length = self.headers.get("Content-Length")
        if length is None:
            raise BadRequest("the request has no Content-Length", HTTPStatus.LENGTH_REQUIRED)
        if not (length.isascii() and length.isdigit()):
            raise BadRequest(f"bad Content-Length {length!r}")
        length, limit = int(length), self.server.app.max_body
        if length > limit:
            raise BadRequest(f"the body is {length} bytes; the limit is {limit} bytes "
                             f"({limit // 2 ** 20} MiB)", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        if length == 0:
            raise BadRequest("the body is empty; send a JSON object")
        try:
            body = self.rfile.read(length)
            self.body_read = True
        except TimeoutError:
            raise BadRequest("the body did not arrive in time", HTTPStatus.REQUEST_TIMEOUT) \
                from None
        if len(body) < length:
            raise BadRequest(f"the body ended after {len(body)} of {length} bytes")
        try:
            payload = json.loads(body)
        except ValueError as error:  # UnicodeDecodeError is one
            raise BadRequest(f"the body is not JSON ({error})") from None
        if not isinstance(payload, dict):
            raise BadRequest("the body must be a JSON object")
        return payload

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (bad request line, unknown method...) and ours, as
        {"error": ...}, and the connection closed."""
        self.close_connection = True
        self.reply(code, json.dumps({"error": message or HTTPStatus(code).phrase}).encode(),
                   "application/json")
        self.discard_body()

    def discard_body(self):
        """After a refusal, drop what is still coming of the refused body, for a few seconds at
        most: a client that sends its whole body before it reads the answer (urllib,
        requests) then gets the answer, not a reset connection. Nothing is kept."""
        if self.command != "POST" or getattr(self, "body_read", True):
            return
        length = self.headers.get("Content-Length", "")
        if not (length.isascii() and length.isdigit()):
            return
        self.wfile.flush()
        remaining, deadline = int(length), time.monotonic() + DISCARD_SECONDS
        try:
            self.connection.settimeout(DISCARD_SECONDS)
            while remaining > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(remaining, 2 ** 16))
                if not chunk:
                    break
                remaining -= len(chunk)
        except OSError:
            pass

    def reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", PAGE_POLICY)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app, host, port):
        self.app = app
        super().__init__((host, port), Handler)

    def handle_error(self, request, client_address):
        """A client that went away mid-answer is no error of the server's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(app, host="127.0.0.1", port=8000):
    """A Server for `app` listening on host:port (port 0: a free one, see server_address)."""
    try:
        return Server(app, host, port)
    except OSError as error:
        raise UserError(f"cannot listen on {host}:{port} ({describe(error)}); choose another "
                        "--port or --host") from error


def serve(app, host, port):
    """Serve `app` until Ctrl-C."""
    with make_server(app, host, port) as server:
        print(f"{app.title}: serving on http://{host}:{server.server_address[1]}/ "
              "(Ctrl-C stops it)", flush=True)
        server.serve_forever()


def add_server_flags(parser):
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0: every interface; the server has "
                             "no authentication)")
    parser.add_argument("--port", type=port_number, default=8000,
                        help="port to listen on (0: any free one)")
    return parser


def port_number(text):
    """argparse type: a TCP port, 0 to 65535."""
    value = cli.non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {text}")
    return value


# ---- the values in a request ----

def decode_image(payload, key):
    """payload[key], a base64 (or data: URL) PNG, JPEG, GIF, WebP or BMP, as uint8 H x W x 3
    RGB (alpha dropped). An image whose header announces more than Pillow's pixel limit is
    refused before it is decoded."""
    text = payload.get(key)
    if not isinstance(text, str) or not text:
        raise BadRequest(f'missing "{key}": send {{"{key}": "<base64 PNG or JPEG>"}}')
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadRequest(f'"{key}" is not base64 ({error})') from None
    try:
        with opened(io.BytesIO(data)) as image:
            if image.format not in IMAGE_FORMATS:
                raise BadRequest(f'"{key}" is a {image.format} image; send '
                                 f'{", ".join(IMAGE_FORMATS)}', HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except UserError as error:
        cause = error.__cause__
        if isinstance(cause, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
            raise BadRequest(f'"{key}" is too large an image ({cause})',
                             HTTPStatus.REQUEST_ENTITY_TOO_LARGE) from None
        if isinstance(cause, UnidentifiedImageError):
            cause = f"no {', '.join(IMAGE_FORMATS)} image in it"
        raise BadRequest(f'"{key}" is not an image the server can read ({cause})') from None


def integer(payload, key, default, low, high):
    """payload[key] (default when absent) as an int in [low, high]."""
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f'"{key}" must be an integer from {low} to {high}, got {value!r}')
    return value


MAX_SEED = 2 ** 31 - 1


def seed(payload):
    """payload["seed"] (0 when absent), a seed for numpy's generators."""
    return integer(payload, "seed", 0, 0, MAX_SEED)


def pngs_base64(images):
    """uint8 N x H x W x C -> N base64 PNGs."""
    return [png_base64(image) for image in images]


def png_base64(image):
    """uint8 H x W x C (C = 1 or 3) as a base64 PNG."""
    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
