"""pix2pix_tf.serve and common.sampler over real HTTP on 127.0.0.1: the pages, POST /translate,
every bad input answered 4xx with a JSON error while the server goes on, concurrent requests,
no path traversal; the sampler of tiny AC-GAN, DCGAN and O-GAN runs; and headless Chromium
uploading to and drawing on the page (skipped where no browser is installed)."""
import base64
import http.client
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest
from PIL import Image

from common import sampler, webapp
from common.errors import UserError
from conftest import write_images, write_mnist_dir
from dcgan_tf.sampler import INTERPOLATION_STEPS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- HTTP from the test's side ----

def request(port, method, path, body=None, headers=None):
    """(status, headers, body) of one request, the path sent as it is (no normalising)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def post(port, path, payload):
    """(status, JSON answer) of POST `path` with a JSON `payload` (a dict, or raw bytes)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    status, headers, answer = request(port, "POST", path, body,
                                      {"Content-Type": "application/json"})
    assert headers["Content-Type"] == "application/json"
    return status, json.loads(answer)


def encoded(array, format="PNG"):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=format)
    return buffer.getvalue()


def b64(data):
    return base64.b64encode(data).decode("ascii")


def decoded(text):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))))


def photo(height=200, width=300):
    """A smooth colour image (not noise, so JPEG keeps it)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], -1).astype(np.uint8)


def huge_png_header(side=20000):
    """A PNG that announces side x side pixels and holds none: refused from its header."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def in_thread(app):
    """A common.webapp server for `app` on a free port, served from a daemon thread."""
    server = webapp.make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---- a tiny real pix2pix export, served by the real command ----

@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from pix2pix_tf import train
    root = tmp_path_factory.mktemp("pix2pix")
    os.makedirs(root / "pairs")
    rng = np.random.default_rng(0)
    for i in range(2):
        a = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(root / "pairs" / f"{i}.png")
    train.main(["--mode", "train", "--input_dir", str(root / "pairs"), "--output_dir",
                str(root / "run"), "--ngf", "4", "--ndf", "4", "--max_steps", "1"])
    train.main(["--mode", "export", "--output_dir", str(root / "export"), "--checkpoint",
                str(root / "run")])
    return str(root / "export" / "export.keras")


@pytest.fixture(scope="module")
def served(export, tmp_path_factory):
    """`python -m pix2pix_tf.serve --model EXPORT --port 0` in a subprocess: (process, port)."""
    log = open(tmp_path_factory.mktemp("serve") / "stderr.log", "w+")
    process = subprocess.Popen([sys.executable, "-m", "pix2pix_tf.serve", "--model", export,
                                "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=log,
                               text=True)
    line = process.stdout.readline()
    if "serving on http://127.0.0.1:" not in line:
        process.kill()
        log.seek(0)
        pytest.fail(f"the server did not start: {line}{log.read()[-2000:]}")
    yield process, int(line.split("127.0.0.1:")[1].split("/")[0])
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_page_info_and_static_files(served):
    _, port = served
    status, headers, page = request(port, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'<canvas id="input"' in page and b'type="file"' in page
    assert "default-src 'self'" in headers["Content-Security-Policy"]  # nothing from outside
    for name, kind in (("pix2pix.js", "text/javascript"), ("webapp.js", "text/javascript"),
                       ("webapp.css", "text/css")):
        status, headers, body = request(port, "GET", f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind) and body
    status, _, info = request(port, "GET", "/info")
    assert status == 200 and json.loads(info) == {"size": 256, "output_filetype": "png"}


@pytest.mark.parametrize("path", [
    "/../../etc/passwd", "/static/../serve.py", "/static/%2e%2e/serve.py",
    "/static/..%2fserve.py", "/static/%2E%2E%2F%2E%2E%2Fcommon%2Fwebapp.py",
    "/%2e%2e/%2e%2e/etc/passwd", "/static//etc/passwd", "/static/../../../etc/passwd",
    "/static/sampler/index.html", "/static/", "/serve.py", "/static/webapp.js/.."])
def test_only_its_own_static_files_are_served(served, path):
    status, headers, body = request(served[1], "GET", path)
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"].startswith("no such page")


def test_translate_answers_the_export_contract(served):
    _, port = served
    status, answer = post(port, "/translate", {"input": b64(encoded(photo(), "JPEG"))})
    assert status == 200 and set(answer) == {"output"}
    assert base64.b64decode(answer["output"])[:8] == b"\x89PNG\r\n\x1a\n"
    output = decoded(answer["output"])
    assert output.shape == (256, 256, 3) and output.std() > 0
    # a canvas's data: URL is taken as it is
    status, answer = post(port, "/translate",
                          {"input": "data:image/png;base64," + b64(encoded(photo(256, 256)))})
    assert status == 200 and decoded(answer["output"]).shape == (256, 256, 3)


BAD_REQUESTS = [  # (what, body, headers, status, words of the error line)
    ("a non-image", {"input": b64(b"just some text, no image")}, None, 400, "not an image"),
    ("a truncated PNG", {"input": b64(encoded(photo())[:600])}, None, 400, "truncated"),
    ("a 20000x20000 image", {"input": b64(huge_png_header())}, None, 413,
     "400000000 pixels"),
    ("a TIFF", {"input": b64(encoded(photo(), "TIFF"))}, None, 415, "TIFF"),
    ("an empty body", b"", None, 400, "empty"),
    ("wrong JSON", b'{"input": ', None, 400, "not JSON"),
    ("a JSON list", b"[1, 2]", None, 400, "JSON object"),
    ("no input", {"image": "iVBOR"}, None, 400, 'missing "input"'),
    ("input not a string", {"input": 7}, None, 400, 'missing "input"'),
    ("wrong base64", {"input": "not base64 at all!"}, None, 400, "not base64"),
    ("a chunked body", b"", {"Transfer-Encoding": "chunked"}, 411, "Content-Length"),
    ("a bad Content-Length", b"{}", {"Content-Length": "\u00b2"}, 400, "bad Content-Length"),
]


def test_bad_input_is_4xx_json_and_the_server_goes_on(served):
    process, port = served
    good = {"input": b64(encoded(photo(64, 64)))}
    for what, body, headers, expected, words in BAD_REQUESTS:
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, reply_headers, answer = request(port, "POST", "/translate", body,
                                                headers or {"Content-Type": "application/json"})
        assert status == expected, (what, answer)
        assert reply_headers["Content-Type"] == "application/json", what
        assert words in json.loads(answer)["error"], (what, answer)
        assert post(port, "/translate", good)[0] == 200, f"no answer after {what}"
    assert post(port, "/nothing", good) == (404, {"error": "no such endpoint: POST /nothing"})
    status, _, answer = request(port, "DELETE", "/")
    assert status == 501 and "DELETE" in json.loads(answer)["error"]
    assert process.poll() is None


def test_a_50_mb_body_is_refused_by_its_length_before_it_is_read(served):
    process, port = served
    limit = f"the limit is {webapp.MAX_BODY} bytes (16 MiB)"
    # only the headers are sent: a server that waited for the body would time out here
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("POST", "/translate")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(50 * 2 ** 20))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and limit in json.loads(response.read())["error"]
    connection.close()
    # a client that sends all 50 MB before it reads gets the same answer, not a reset
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/translate", data=b" " * (50 * 2 ** 20),
            headers={"Content-Type": "application/json"}), timeout=30)
    assert refused.value.code == 413 and limit in json.loads(refused.value.read())["error"]
    assert post(port, "/translate", {"input": b64(encoded(photo(64, 64)))})[0] == 200
    assert process.poll() is None


class Recording:
    """An export model that records each call and how many ran at once."""

    def __init__(self, model):
        self.model, self.outputs, self.running, self.most = model, {}, 0, 0

    def predict(self, images, verbose=0):
        self.running += 1
        self.most = max(self.most, self.running)
        time.sleep(0.05)  # a window in which an unserialised call would overlap
        outputs = self.model.predict(images, verbose=verbose)
        self.outputs[images.tobytes()] = outputs
        self.running -= 1
        return outputs


def test_concurrent_requests_are_serialised_and_each_gets_its_own_answer(export):
    """8 requests at once: all answered, the model called one at a time, and each answer is
    the model's output for that request's own image (pix2pix's dropout stays on at
    inference, so the expected outputs are the ones the model gave during the run)."""
    from common.images import to_unit
    from pix2pix_tf import serve
    from pix2pix_tf.program import convert_image_dtype, load_export
    model = Recording(load_export(export)[0])
    server = in_thread(serve.make_app(model, "png"))
    port = server.server_address[1]
    images = [np.full((256, 256, 3), [36 * i, 255 - 36 * i, 128], np.uint8) for i in range(8)]
    answers = [None] * 8

    def ask(i):
        answers[i] = post(port, "/translate", {"input": b64(encoded(images[i]))})

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    server.shutdown()
    assert [status for status, _ in answers] == [200] * 8
    assert model.most == 1 and len(model.outputs) == 8
    for image, (_, answer) in zip(images, answers):
        expected = convert_image_dtype(model.outputs[to_unit(image)[None].tobytes()][0])
        np.testing.assert_array_equal(decoded(answer["output"]), expected)


def test_output_filetype_jpeg_and_bad_models(export, tmp_path, capsys):
    from pix2pix_tf import serve
    from pix2pix_tf.program import load_export
    server = in_thread(serve.make_app(load_export(export)[0], "jpeg"))
    status, answer = post(server.server_address[1], "/translate",
                          {"input": b64(encoded(photo()))})
    server.shutdown()
    assert status == 200 and base64.b64decode(answer["output"])[:2] == b"\xff\xd8"
    assert decoded(answer["output"]).shape == (256, 256, 3)
    (tmp_path / "garbage.keras").write_bytes(b"not a model")
    for model, words in ((str(tmp_path / "none.keras"), "does not exist"),
                         (str(tmp_path / "garbage.keras"), "is not a pix2pix export")):
        with pytest.raises(SystemExit) as exit_info:
            serve.main(["--model", model])
        assert exit_info.value.code == 2
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert last.startswith("error: ") and words in last, last


def test_a_failing_endpoint_is_a_500_line_and_a_used_port_one_clear_error(served, capsys):
    def broken(payload):
        raise RuntimeError("a bug")
    app = webapp.App("x", os.path.join(webapp.STATIC_DIR, "sampler", "index.html"),
                     {"/broken": broken, "/echo": lambda payload: payload})
    server = in_thread(app)
    port = server.server_address[1]
    assert post(port, "/broken", {}) == (
        500, {"error": "the server failed on this request (a bug)"})
    assert "RuntimeError: a bug" in capsys.readouterr().err  # the traceback is logged
    assert post(port, "/echo", {"a": 1}) == (200, {"a": 1})
    server.shutdown()
    with pytest.raises(UserError, match="cannot listen on 127.0.0.1:.*choose another --port"):
        webapp.make_server(app, "127.0.0.1", served[1])


# ---- the sampler of tiny runs ----

@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    return write_mnist_dir(str(tmp_path_factory.mktemp("data") / "mnist"), 20, 10)


def serving(run):
    """The sampler of `run` served from a thread: yields its port."""
    server = in_thread(sampler.make_app(run))
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture(scope="module")
def acgan_sampler(tmp_path_factory, mnist):
    from acgan_mnist import train
    out = str(tmp_path_factory.mktemp("acgan") / "run")
    train.main(["--data-dir", mnist, "--epochs", "1", "--batch-size", "10",
                "--steps-per-epoch", "1", "--output-dir", out])
    yield from serving(out)


@pytest.fixture(scope="module")
def dcgan_sampler(tmp_path_factory, mnist):
    """The conditional MNIST DCGAN."""
    from dcgan_tf import train
    out = str(tmp_path_factory.mktemp("dcgan") / "run")
    train.main(["--train", "--dataset", "mnist", "--data_dir", os.path.dirname(mnist),
                "--output-dir", out, "--epoch", "1", "--batch_size", "10", "--gf_dim", "2",
                "--df_dim", "4", "--gfc_dim", "8", "--dfc_dim", "8", "--z_dim", "4"])
    yield from serving(out)


@pytest.fixture(scope="module")
def ogan_sampler(tmp_path_factory):
    from ogan_keras import train
    root = tmp_path_factory.mktemp("ogan")
    write_images(str(root / "faces"), 4, size=(40, 40), ext="jpg")
    train.main(["--data", str(root / "faces"), "--img_dim", "32", "--z_dim", "8",
                "--batch_size", "4", "--epochs", "1", "--steps_per_epoch", "1",
                "--sample_every", "1", "--output-dir", str(root / "run")])
    yield from serving(str(root / "run"))


def test_acgan_sampler_one_latent_per_row_across_classes(acgan_sampler):
    port = acgan_sampler
    status, _, info = request(port, "GET", "/info")
    assert json.loads(info) == {"program": "acgan", "title": "AC-GAN", "classes": 10}
    status, page = post(port, "/sample", {"seed": 5, "rows": 3, "classes": [2, 7]})
    assert status == 200 and page["columns"] == 2 and len(page["images"]) == 6
    images = [decoded(image) for image in page["images"]]
    assert images[0].shape == (28, 28)
    # the same seed draws the same latents; class 2's column does not depend on the others
    _, alone = post(port, "/sample", {"seed": 5, "rows": 3, "classes": [2]})
    assert alone["images"] == page["images"][0::2]
    _, other = post(port, "/sample", {"seed": 6, "rows": 3, "classes": [2]})
    assert other["images"] != alone["images"]
    for payload, words in (({"classes": [10]}, "digits 0 to 9"), ({"classes": []}, "digits"),
                           ({"seed": "x"}, '"seed" must be an integer'),
                           ({"rows": 1000}, '"rows" must be an integer from 1 to 20')):
        status, answer = post(port, "/sample", payload)
        assert status == 400 and words in answer["error"], answer


def test_dcgan_sampler_samples_and_interpolates(dcgan_sampler):
    port = dcgan_sampler
    assert json.loads(request(port, "GET", "/info")[2]) == {
        "program": "dcgan", "title": "DCGAN", "conditional": True}
    status, samples = post(port, "/sample", {"seed": 3, "count": 20})
    assert status == 200 and len(samples["images"]) == 20
    assert decoded(samples["images"][0]).shape == (28, 28)
    status, line = post(port, "/interpolate", {"seed": 3, "count": 20, "a": 2, "b": 7})
    assert status == 200 and len(line["images"]) == INTERPOLATION_STEPS + 2
    # the line starts and ends at the two picked samples (inference-mode BatchNorm)
    for end, index in ((0, 2), (-1, 7)):
        difference = decoded(line["images"][end]).astype(int) - decoded(samples["images"][index])
        assert np.abs(difference).max() <= 1
    status, answer = post(port, "/interpolate", {"seed": 3, "count": 20, "a": 20})
    assert status == 400 and '"a" must be an integer from 0 to 19' in answer["error"]


def test_ogan_sampler_reconstructs_and_interpolates_real_and_uploaded_images(ogan_sampler):
    port = ogan_sampler
    info = json.loads(request(port, "GET", "/info")[2])
    assert info["program"] == "ogan" and info["size"] == 32 and len(info["real"]) == 4
    assert decoded(info["real"][0]).shape == (32, 32, 3)
    status, answer = post(port, "/interpolate", {"a": info["real"][0],
                                                 "b": b64(encoded(photo(), "JPEG"))})
    assert status == 200 and len(answer["reconstructions"]) == 2
    assert len(answer["images"]) == 10  # A, 8 steps along the codes' line, B
    assert decoded(answer["images"][0]).shape == (32, 32, 3)
    assert answer["images"][0] == info["real"][0]
    status, answer = post(port, "/sample", {"seed": 1, "count": 4})
    assert status == 200 and len(answer["images"]) == 4
    status, answer = post(port, "/interpolate", {"a": info["real"][0], "b": b64(b"nope")})
    assert status == 400 and '"b" is not an image' in answer["error"]


def test_sampler_names_runs_it_cannot_sample(export, tmp_path, capsys):
    def refused(checkpoint, words):
        with pytest.raises(SystemExit) as exit_info:
            sampler.main(["--checkpoint", checkpoint])
        assert exit_info.value.code == 2
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert last.startswith("error: ") and words in last, last

    pix2pix_run = os.path.join(os.path.dirname(os.path.dirname(export)), "run")
    refused(pix2pix_run, "is a pix2pix run: export it")
    other = tmp_path / "other"
    os.makedirs(other / "checkpoints" / "step-000000001")
    (other / "options.json").write_text(json.dumps({"learning_rate": 0.1, "epochs": 3}))
    refused(str(other), "is not the options of an AC-GAN, DCGAN-family or O-GAN run")
    refused(str(tmp_path / "none"), "does not exist")
    (other / "options.json").write_text(json.dumps({"program": "no_such_package"}))
    refused(str(other), "no sampler for runs of 'no_such_package'")


def test_the_sampler_finds_a_runs_program_by_the_name_its_options_give():
    """options.json names the package that trained the run; a run written before it did is
    known by the options only its program has."""
    import argparse
    import types
    from acgan_mnist.program import parse_options

    def run(**options):
        return types.SimpleNamespace(options=argparse.Namespace(**options), output_dir="run")
    assert parse_options([]).program == "acgan_mnist"
    assert sampler.program_of(run(**vars(parse_options([])))) == "acgan_mnist"
    assert sampler.program_of(run(program="dcgan_tf", latent_size=100)) == "dcgan_tf"
    legacy = {k: v for k, v in vars(parse_options([])).items() if k != "program"}
    assert sampler.program_of(run(**legacy)) == "acgan_mnist"
    assert sampler.program_of(run(arch="wgan", z_dist="normal", gf_dim=64)) == "dcgan_tf"


# ---- a real browser ----

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1000,720")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by selenium through Debian's chromedriver (`make browser`)."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.skip("no chromium/chromedriver installed (make browser installs them)")
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="selenium is not installed (make install)")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script, timeout=60):
    """Until the JavaScript expression `script` is truthy; returns its value."""
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(f"return {script}"))


def test_browser_uploads_and_draws_and_sees_the_translation(browser, served, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    browser.get(f"http://127.0.0.1:{served[1]}/")
    upload = tmp_path / "upload.jpg"
    Image.fromarray(photo(300, 400)).save(upload, quality=90)
    browser.find_element(By.ID, "upload").send_keys(str(upload))
    wait_for(browser, "document.getElementById('output').dataset.count === '1'")
    output = browser.find_element(By.ID, "output")
    assert browser.execute_script("return arguments[0].naturalWidth", output) == 256
    first = decoded(output.get_attribute("src").split(",", 1)[1])
    assert first.shape == (256, 256, 3) and first.std() > 1  # not blank

    canvas = browser.find_element(By.ID, "input")
    browser.find_element(By.ID, "clear").click()
    ActionChains(browser).move_to_element_with_offset(canvas, -60, -40).click_and_hold() \
        .move_by_offset(60, 30).move_by_offset(60, 30).release().perform()
    wait_for(browser, "document.getElementById('output').dataset.count === '2'")
    drawn = decoded(browser.execute_script(
        "return document.getElementById('input').toDataURL('image/png').split(',')[1]"))
    assert drawn.min() < 50 and (drawn == 255).mean() > 0.9  # a dark stroke on white
    second = decoded(browser.find_element(By.ID, "output").get_attribute("src").split(",", 1)[1])
    assert second.shape == (256, 256, 3) and second.std() > 1
    assert "translated in" in browser.find_element(By.ID, "status").text
    browser.save_screenshot(str(tmp_path / "serve.png"))
    assert Image.open(tmp_path / "serve.png").size[0] > 512

    # a file that is no image: the server's error line on the page, and the page goes on
    (tmp_path / "notes.png").write_bytes(b"no image here")
    browser.find_element(By.ID, "upload").send_keys(str(tmp_path / "notes.png"))
    wait_for(browser, "document.getElementById('status').className === 'error'")
    assert "not an image" in browser.find_element(By.ID, "status").text


SAMPLER_PAGES = {  # program: (images shown once loaded, a click, images shown after it)
    "acgan": ("#acgan-grid img", 80, "//span[@id='classes']/button[text()='3']", 72),
    "dcgan": ("#dcgan-grid img, #dcgan-interpolation img", 30, "(//div[@id='dcgan-grid']/img)[6]",
              30),
    "ogan": ("#ogan-real img, #ogan-reconstructions img, #ogan-interpolation img, "
             "#ogan-samples img", 4 + 4 + 10 + 16, "(//div[@id='ogan-real']/img)[4]", 34),
}


@pytest.mark.parametrize("program", sorted(SAMPLER_PAGES))
def test_browser_sampler_pages(program, browser, tmp_path, request):
    """Each program's page loads its images, and a click (a class hidden, a sample or a
    real image picked) redraws them."""
    from selenium.webdriver.common.by import By
    port = request.getfixturevalue(f"{program}_sampler")
    images, before, click, after = SAMPLER_PAGES[program]
    count = f"document.querySelectorAll('{images}').length"
    browser.get(f"http://127.0.0.1:{port}/")
    wait_for(browser, f"{count} === {before} && document.getElementById('status').textContent"
                      " === ''")
    browser.find_element(By.XPATH, click).click()
    wait_for(browser, f"{count} === {after} && document.getElementById('status').textContent"
                      " === ''")
    assert browser.title.endswith(" sampler")
    if program == "dcgan":
        assert "sample 1 \u2192 5" in browser.find_element(By.ID, "dcgan-interpolation").text
    if program == "ogan":
        assert len(browser.find_elements(By.CSS_SELECTOR, "#ogan-real img.picked")) == 2
    browser.save_screenshot(str(tmp_path / f"{program}.png"))
