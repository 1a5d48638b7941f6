"""Scores of a trained AC-GAN: `python -m acgan_mnist.evaluate --checkpoint runs/acgan_mnist
--classifier fashion.keras` prints one JSON line (fid, kid, class_accuracy, confidence).

Not in the tutorial (which printed losses and plots): class_accuracy is the fraction of samples
the project's classifier (common.classifier) assigns to the class they were generated for.
"""
from acgan_mnist.program import load_run, sample, scale
from common import cli, features
from common.evaluation import (GENERATOR_METRICS, array_key, chosen_metrics, evaluate_parser,
                               print_scores, score_generator)
from common.mnist import load_mnist


def real_batches(images, batch_size):
    for start in range(0, len(images), batch_size):
        yield scale(images[start:start + batch_size])


def generator_scores(generator, latent_size, x_real, extractor, metrics, num_samples,
                     batch_size=100, seed=0):
    return score_generator(extractor, metrics, sample(generator, latent_size),
                           real_batches(x_real, batch_size), array_key(x_real), num_samples,
                           batch_size, seed)


@cli.exits_cleanly
def main(argv=None):
    parser = evaluate_parser("acgan_mnist", __doc__, GENERATOR_METRICS, "classifier")
    parser.add_argument("--data-dir", default=None, help="real images (default: the run's)")
    args = parser.parse_args(argv)
    metrics = chosen_metrics(args, GENERATOR_METRICS)
    gan, options = load_run(args.checkpoint)
    generator = gan.generator
    extractor = features.extractor(args.features, args.classifier, args.inception_weights)
    (x_train, _), _ = load_mnist(args.data_dir or options.data_dir)
    scores = generator_scores(generator, options.latent_size, x_train, extractor, metrics,
                              args.num_samples, args.batch_size, args.seed)
    return print_scores(scores)


if __name__ == "__main__":
    main()
