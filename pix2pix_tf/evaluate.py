"""pix2pix's test mode (`python -m pix2pix_tf.train --mode test`, images and index.html) and
the scores of a trained run on a folder of examples:
`python -m pix2pix_tf.evaluate --checkpoint runs/facades_train --input_dir data/facades/val`
prints one JSON line with the mean PSNR and SSIM of the outputs against the targets (and, for
--lab_colorization runs, the mean |ab| error beside an all-grey guess's), over test-mode
outputs (no flip, 256x256, dropout and batch statistics on, as the original's test mode).
"""
import math
import os
import time

import numpy as np

from common import cli
from common.errors import UserError
from common.evaluation import print_scores
from pix2pix_tf.pairs import list_paired_images
from pix2pix_tf.program import (append_index, displayable, fixed_examples, image_scores, load_run,
                                save_images, write_scores)

METRICS = ("psnr", "ssim", "ab_error")


def test(args, paths, model):
    """One pass over input_dir with the trained `model`: images/{name}-{inputs,outputs,
    targets}.png and index.html."""
    print("loading model from checkpoint")
    max_steps = math.ceil(len(paths) / args.batch_size)
    if args.max_steps is not None:
        max_steps = min(max_steps, args.max_steps)
    start, index_path, rows = time.time(), None, []
    for step in range(max_steps):
        batch = paths[step * args.batch_size:(step + 1) * args.batch_size]
        names, inputs, targets = fixed_examples(args, batch, len(batch))
        if inputs is None:
            continue
        outputs = model.generator(inputs, training=True).numpy()
        shown = displayable(args, inputs, targets, outputs)
        filesets = save_images(args, names, shown)
        scores = image_scores(args, targets, outputs, shown)
        for fileset, score in zip(filesets, scores):
            fileset.update(score)
            rows.append({"name": fileset["name"], **score})
            print("evaluated image", fileset["name"])
        index_path = append_index(args, filesets, scores=list(scores[0]))
    if index_path is None:
        raise UserError(f"no image of --input_dir {args.input_dir} was evaluated "
                        f"(max_steps {max_steps}, or none could be read)")
    print("wrote index at", index_path)
    means = write_scores(os.path.join(args.output_dir, "scores.csv"), rows)
    print("mean", "  ".join(f"{name} {value:.4f}" for name, value in means.items()))
    print("rate", (time.time() - start) / max_steps)
    return means


def dataset_scores(args, model, paths, limit=None, batch_size=1):
    """Means over the first `limit` readable examples of `paths` (all by default)."""
    rows = []
    for start in range(0, len(paths), batch_size):
        _, inputs, targets = fixed_examples(args, paths[start:start + batch_size], batch_size)
        if inputs is None:
            continue
        outputs = model.generator(inputs, training=True).numpy()
        rows += image_scores(args, targets, outputs, displayable(args, inputs, targets, outputs))
        if limit and len(rows) >= limit:
            break
    rows = rows[:limit] if limit else rows
    scores = {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}
    return {**scores, "num_images": len(rows)}


@cli.exits_cleanly
def main(argv=None):
    parser = cli.parser("pix2pix_tf", __doc__, module="evaluate")
    parser.add_argument("--checkpoint", required=True, help="a training run's --output_dir")
    parser.add_argument("--input_dir", default=None, help="default: the run's --input_dir")
    parser.add_argument("--num-samples", type=cli.positive_int, default=None,
                        help="score at most this many examples (default: all)")
    parser.add_argument("--batch-size", type=cli.positive_int, default=1)
    args = parser.parse_args(argv)
    model, options = load_run(args.checkpoint)
    paths = list_paired_images(args.input_dir or options.input_dir,
                               split=not options.lab_colorization)
    return print_scores(dataset_scores(options, model, paths, args.num_samples,
                                       args.batch_size))


if __name__ == "__main__":
    main()
