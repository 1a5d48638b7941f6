"""pix2pix's dataset tools: tools/process.py (resize, combine, grayscale, blank, edges) and
tools/split.py (split), e.g.
`python -m pix2pix_tf.process --input_dir photos --operation resize --output_dir resized`.

`edges` stands in for the original's HED network + MATLAB/Octave post-processing (docker
only): a Sobel edge detector, thresholded and thinned to dark lines on white.
"""
import glob
import os
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from common import cli
from common.errors import UserError
from common.images import read_image

OPERATIONS = ("grayscale", "resize", "blank", "combine", "edges", "split")


def resize(src, size, pad=False):
    """Center-crop to a square (or pad it with --pad), then AREA down / BICUBIC up to size."""
    height, width = src.shape[:2]
    if pad:
        side = max(height, width)
        dst = np.zeros((side, side, src.shape[2]), src.dtype)
        top, left = (side - height) // 2, (side - width) // 2
        dst[top:top + height, left:left + width] = src
    else:
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        dst = src[top:top + side, left:left + side]
    method = Image.BOX if side > size else Image.BICUBIC
    return np.asarray(Image.fromarray(dst).resize((size, size), method))


def blank(src):
    """Fill the central 30% square of a square image with white: holes for inpainting."""
    height, width = src.shape[:2]
    if height != width:
        raise UserError(f"blank needs square images (got {width}x{height}); "
                        "run --operation resize first")
    hole = int(width * 0.3)
    offset = int(width / 2 - hole / 2)
    dst = src.copy()
    dst[offset:offset + hole, offset:offset + hole] = 255
    return dst


def grayscale(src):
    """Grey written as RGB, as the original's grayscale_to_rgb(rgb_to_grayscale(src))."""
    return np.asarray(Image.fromarray(src).convert("L").convert("RGB"))


def edges(src):
    """Dark one-pixel-ish lines on white where the Sobel gradient is strong."""
    grey = np.asarray(Image.fromarray(src).convert("L"), np.float32) / 255.0
    padded = np.pad(grey, 1, mode="edge")
    gx = (padded[:-2, 2:] + 2 * padded[1:-1, 2:] + padded[2:, 2:]
          - padded[:-2, :-2] - 2 * padded[1:-1, :-2] - padded[2:, :-2])
    gy = (padded[2:, :-2] + 2 * padded[2:, 1:-1] + padded[2:, 2:]
          - padded[:-2, :-2] - 2 * padded[:-2, 1:-1] - padded[:-2, 2:])
    magnitude = np.hypot(gx, gy)
    threshold = max(0.2, np.percentile(magnitude, 85))
    lines = magnitude > threshold
    return np.where(lines, 0, 255).astype(np.uint8)[..., None].repeat(3, axis=2)


def combine(src, src_path, b_dir):
    """A (src) beside the same-named B image from --b_dir: grey -> RGB, alpha dropped."""
    stem = os.path.splitext(os.path.basename(src_path))[0]
    for ext in (".png", ".jpg"):
        sibling = os.path.join(b_dir, stem + ext)
        if os.path.exists(sibling):
            break
    else:
        raise UserError(f"no {stem}.png or {stem}.jpg in --b_dir {b_dir} to pair with {src_path}")
    b_image = read_image(sibling)
    if b_image.shape != src.shape:
        raise UserError(f"differing sizes: {src_path} is {src.shape[1]}x{src.shape[0]}, "
                        f"{sibling} is {b_image.shape[1]}x{b_image.shape[0]}")
    return np.concatenate([src, b_image], axis=1)


def process(args, src_path, dst_path):
    src = read_image(src_path)
    if args.operation == "grayscale":
        dst = grayscale(src)
    elif args.operation == "resize":
        dst = resize(src, args.size, args.pad)
    elif args.operation == "blank":
        dst = blank(src)
    elif args.operation == "combine":
        dst = combine(src, src_path, args.b_dir)
    else:
        dst = edges(src)
    Image.fromarray(dst[..., 0] if dst.shape[-1] == 1 else dst).save(dst_path)


def run_operation(args):
    """Every image of --input_dir to --output_dir/{stem}.png, skipping existing outputs."""
    paths = sorted(p for p in glob.glob(os.path.join(args.input_dir, "*"))
                   if p.lower().endswith((".png", ".jpg", ".jpeg")))
    if not paths:
        raise UserError(f"--input_dir {args.input_dir} contains no .png or .jpg images")
    if args.operation == "combine" and not args.b_dir:
        raise UserError("--operation combine needs --b_dir (the B images)")
    os.makedirs(args.output_dir, exist_ok=True)
    jobs = [(p, os.path.join(args.output_dir, os.path.splitext(os.path.basename(p))[0] + ".png"))
            for p in paths]
    todo = [(src, dst) for src, dst in jobs if not os.path.exists(dst)]
    if len(todo) < len(jobs):
        print(f"skipping {len(jobs) - len(todo)} files that have already been processed")
    print(f"processing {len(todo)} files")
    start = time.time()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        for done, _ in enumerate(pool.map(lambda job: process(args, *job), todo), start=1):
            elapsed = time.time() - start
            rate = done / elapsed if elapsed > 0 else float("inf")
            print(f"{done}/{len(todo)} complete  {rate:0.2f} images/sec  "
                  f"{int(elapsed // 60)}m{int(elapsed % 60)}s elapsed  "
                  f"{int((len(todo) - done) / rate // 60) if rate else 0}m remaining")
    return len(todo)


def split(args):
    """tools/split.py: move *.png of --input_dir into train/, val/ (and test/). As the
    original, the sorted files are paired with a list of assignments (train_frac of "train",
    test_frac of "test", the rest "val") that is shuffled with random.seed(0) unless --sort,
    so a folder splits the same way as with the original script."""
    paths = sorted(glob.glob(os.path.join(args.input_dir, "*.png")))
    if not paths:
        raise UserError(f"--input_dir {args.input_dir} contains no .png images to split")
    random.seed(0)
    assignments = ["train"] * int(args.train_frac * len(paths))
    assignments += ["test"] * int(args.test_frac * len(paths))
    assignments += ["val"] * (len(paths) - len(assignments))
    if not args.sort:
        random.shuffle(assignments)
    for name in set(assignments):
        os.makedirs(os.path.join(args.input_dir, name), exist_ok=True)
    print(len(paths), len(assignments))
    for path, name in zip(paths, assignments):
        destination = os.path.join(args.input_dir, name, os.path.basename(path))
        print(path, "->", destination)
        shutil.move(path, destination)
    return {name: assignments.count(name) for name in ("train", "test", "val")}


@cli.exits_cleanly
def main(argv=None):
    parser = cli.tool_parser("python -m pix2pix_tf.process", __doc__)
    parser.add_argument("--input_dir", "--dir", required=True, help="path to folder of images")
    parser.add_argument("--output_dir", help="output path (not used by split)")
    parser.add_argument("--operation", required=True, choices=OPERATIONS)
    parser.add_argument("--workers", type=cli.positive_int, default=1, help="number of threads")
    parser.add_argument("--pad", action="store_true", help="pad instead of crop for resize")
    parser.add_argument("--size", type=cli.positive_int, default=256, help="size to use for resize")
    parser.add_argument("--b_dir", help="path to folder containing B images for combine")
    parser.add_argument("--train_frac", type=cli.fraction, default=0.8, help="split: train share")
    parser.add_argument("--test_frac", type=cli.fraction, default=0.0, help="split: test share")
    parser.add_argument("--sort", action="store_true", help="split: sorted, not shuffled")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.input_dir):
        raise UserError(f"--input_dir {args.input_dir} does not exist")
    if args.operation == "split":
        if args.train_frac + args.test_frac > 1:
            raise UserError(f"--train_frac {args.train_frac} and --test_frac {args.test_frac} "
                            "add up to more than 1")
        return split(args)
    if not args.output_dir:
        raise UserError(f"--operation {args.operation} needs --output_dir")
    return run_operation(args)


if __name__ == "__main__":
    main()
