"""The decode cache's first pass over an image folder against plain tf.data pipelines:
`python -m bench.first_pass [--images 2000] [--repeats 3] [--data DIR]`.

On --images synthetic JPEGs of celebA's size (178x218; or the files of --data), with carpedm20's
108 center crop to 64x64, each of these in a process of its own, in turn, --repeats times (files
in the page cache; the time from building the pipeline, its tracing included, to its last
image; TensorFlow's import excluded):
- cache: `ImageFolder.prepare()`, the port's first pass (decoding into the cache the later
  epochs read);
- plain: a bare tf.data map of the same ops (accurate IDCT, the crop, the antialiased bilinear
  resize: the pixels PIL gave the tutorials), batched and read into NumPy;
- defaults: the same with TensorFlow's defaults (fast IDCT, no antialiasing: other pixels).
Prints files/s of each (the best of the repeats, and all of them) and cache / plain.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELEBA = (218, 178)  # height, width of an aligned celebA file
CROP, SIZE = (108, 108), (64, 64)


def run_one(method, folder):
    """Files/s of `method` over `folder`, in this process."""
    import common  # noqa: F401  (quiets TensorFlow's start-up log)
    import tensorflow as tf
    from common.cache import ImageFolder
    from common.decode import ImageSpec
    from common.files import list_images
    paths = list_images(folder)
    spec = ImageSpec(crop=CROP, size=SIZE, method="bilinear")
    start = time.perf_counter()
    if method == "cache":
        count = ImageFolder(paths, spec, seed=0).prepare().count
    else:
        accurate = method == "plain"

        def decode(path):
            image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3,
                                      dct_method="INTEGER_ACCURATE" if accurate else "")
            image = tf.image.crop_to_bounding_box(image, (CELEBA[0] - CROP[0]) // 2,
                                                  (CELEBA[1] - CROP[1]) // 2, *CROP)
            return tf.cast(tf.clip_by_value(tf.round(tf.image.resize(
                image, SIZE, antialias=accurate)), 0, 255), tf.uint8)
        data = tf.data.Dataset.from_tensor_slices(paths).map(
            decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        count = sum(len(batch) for batch in data.batch(64).prefetch(2).as_numpy_iterator())
    return count / (time.perf_counter() - start)


def write_photos(folder, count):
    import numpy as np
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (CELEBA[0] // 8, CELEBA[1] // 8, 3), np.uint8)
    for i in range(count):  # smooth, photo-like content: JPEG sizes of real photos
        small = np.clip(base.astype(int) + rng.integers(-40, 40, base.shape), 0, 255)
        Image.fromarray(small.astype(np.uint8)).resize(CELEBA[::-1], Image.BICUBIC).save(
            os.path.join(folder, f"{i:06d}.jpg"), quality=90)
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=None)
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one)))
        return
    with tempfile.TemporaryDirectory() as root:
        folder = args.data or write_photos(os.path.join(root, "photos"), args.images)
        rates = {"cache": [], "plain": [], "defaults": []}
        for _ in range(args.repeats):
            for method in rates:
                result = subprocess.run([sys.executable, "-m", "bench.first_pass", "--one",
                                         method, folder], cwd=ROOT, capture_output=True,
                                        text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
                if result.returncode != 0:
                    raise SystemExit(result.stderr[-2000:])
                rates[method].append(float(result.stdout.strip().splitlines()[-1]))
    for method, values in rates.items():
        print(f"{method:<9} {max(values):8.0f} files/s (best; all: "
              f"{', '.join(f'{v:.0f}' for v in values)})")
    print(f"cache / plain: {max(rates['cache']) / max(rates['plain']):.2f}x (best against "
          f"best); per repeat: "
          f"{', '.join(f'{c / p:.2f}' for c, p in zip(rates['cache'], rates['plain']))}")


if __name__ == "__main__":
    main()
