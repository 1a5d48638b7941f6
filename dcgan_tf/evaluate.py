"""Scores of a trained DCGAN-family run: `python -m dcgan_tf.evaluate --checkpoint runs/dcgan_tf`
prints one JSON line: fid and kid against the run's images (InceptionV3 features by default;
--features classifier for MNIST-format data), and for the conditional MNIST model the
class_accuracy of samples generated for given labels.

Samples come as the run sampled its grids: carpedm20's sampler in inference mode, the anime
DCGAN and the WGAN with batch statistics (their originals never switched BatchNorm).
"""
import os

import numpy as np

from common import cli, features, latents
from common.cache import files_key
from common.evaluation import (GENERATOR_METRICS, chosen_metrics, evaluate_parser, print_scores,
                               score_generator)
from common.files import list_images
from dcgan_tf.originals.carpedm20 import mnist_data
from dcgan_tf.program import folder_data, image_spec, load_run, sample_images


def sample(gan, args):
    """generate(count, rng) -> (images in [-1, 1], labels or None)."""
    def generate(count, rng):
        z = latents.draw(rng, (count, args.z_dim), args.z_dist)
        if not args.mnist:
            return sample_images(gan, args, z), None
        labels = rng.integers(0, 10, count)
        images = sample_images(gan, args, z, np.eye(10, dtype=np.float32)[labels])
        return images * 2 - 1, labels  # the conditional generator's sigmoid images are [0, 1]
    return generate


def real_batches(args, batch_size, count):
    """`count` (or a few more) of the run's training images in [-1, 1], in a fixed order."""
    if args.mnist:
        x, _ = mnist_data(args)
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size] * 2 - 1
        return
    folder, _ = folder_data(args, limit=count + count // 10 + 1)
    for batch in folder.dataset(batch_size, shuffle=False, repeat=False):
        yield batch.numpy()


def real_key(args):
    """What identifies the run's real images (common.evaluation.real_statistics)."""
    if args.mnist:
        folder = os.path.join(args.data_dir, "mnist")
        return files_key(sorted(os.path.join(folder, n) for n in os.listdir(folder)), "mnist")
    where = os.path.join(args.data_dir, args.dataset)
    return files_key(list_images(where, args.input_fname_pattern), repr(image_spec(args)))


def generator_scores(gan, args, extractor, metrics, num_samples, batch_size=100, seed=0):
    return score_generator(extractor, metrics, sample(gan, args),
                           real_batches(args, batch_size, num_samples), real_key(args),
                           num_samples, batch_size, seed)


@cli.exits_cleanly
def main(argv=None):
    parser = evaluate_parser("dcgan_tf", __doc__, GENERATOR_METRICS, None)
    parser.add_argument("--data_dir", default=None, help="default: the run's --data_dir")
    args = parser.parse_args(argv)
    metrics = chosen_metrics(args, GENERATOR_METRICS)
    gan, options = load_run(args.checkpoint, args.data_dir)
    chosen = args.features or ("classifier" if options.mnist else "inception")
    extractor = features.extractor(chosen, args.classifier, args.inception_weights)
    return print_scores(generator_scores(gan, options, extractor, metrics, args.num_samples,
                                         args.batch_size, args.seed))


if __name__ == "__main__":
    main()
