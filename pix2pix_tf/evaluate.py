"""Scores of a trained pix2pix run on a folder of examples:
`python -m pix2pix_tf.evaluate --checkpoint runs/facades_train --input_dir data/facades/val`
prints one JSON line with the mean PSNR and SSIM of the outputs against the targets (and, for
--lab_colorization runs, the mean |ab| error beside an all-grey guess's), over test-mode
outputs (no flip, 256x256, dropout and batch statistics on, as the original's test mode).
"""
import numpy as np

from common import cli
from common.data import list_paired_images
from common.evaluation import find_run, load_weights, print_scores
from pix2pix_tf.train import build_model, displayable, fixed_examples, image_scores

METRICS = ("psnr", "ssim", "ab_error")


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
    _, options, checkpoint_dir = find_run(args.checkpoint)
    model = build_model(options)
    load_weights(model.generator, checkpoint_dir, "generator")
    paths = list_paired_images(args.input_dir or options.input_dir,
                               split=not options.lab_colorization)
    return print_scores(dataset_scores(options, model, paths, args.num_samples,
                                       args.batch_size))


if __name__ == "__main__":
    main()
