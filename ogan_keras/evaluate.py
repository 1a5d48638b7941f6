"""Scores of a trained O-GAN: `python -m ogan_keras.evaluate --checkpoint runs/ogan_keras` prints
one JSON line: fid and kid of G(z) against the run's images, and the reconstruction ratio.

reconstruction_ratio = mean squared error of G(0.9 * standardise(E(x))) against x (the
Trainer's sample_ae), divided by the mean squared error between random pairs of real images:
near 1 means the encoder and generator do not agree at all, far below 1 that G(E(x)) looks
like x. Not in the repository, which showed reconstructions as pictures only.
"""
import numpy as np

from common import cli, features, latents
from common.cache import ImageFolder, files_key
from common.evaluation import chosen_metrics, evaluate_parser, print_scores, score_generator
from common.files import list_images
from ogan_keras.program import METRICS, image_spec, load_run


def real_images(data, img_dim, batch_size, count, seed=0):
    """`count` (or a few more) of the run's images in [-1, 1], a random subset in a fixed
    order, unreadable files skipped."""
    folder = ImageFolder(list_images(data), image_spec(img_dim), seed=seed,
                         limit=count + count // 10 + 1)
    folder.check_readable(data)
    for batch in folder.dataset(batch_size, shuffle=False, repeat=False):
        yield batch.numpy()


def real_key(data, img_dim):
    """What identifies the run's real images (common.evaluation.real_statistics)."""
    return files_key(list_images(data), repr(image_spec(img_dim)))


_RECONSTRUCTED = {}


def reconstruction_images(data, img_dim, batch_size, count, seed):
    """The real images reconstruction_ratio uses, decoded once per process (--eval-every
    scores the same ones every time)."""
    key = (real_key(data, img_dim), count, seed)
    if key not in _RECONSTRUCTED:
        _RECONSTRUCTED[key] = np.concatenate(list(_take(
            real_images(data, img_dim, batch_size, count, seed), count)))
    return _RECONSTRUCTED[key]


def reconstruction_scores(gan, images, rng):
    """reconstruction_error, pair_error and their ratio over real `images`."""
    reconstruction = np.mean((gan.reconstruct(images) - images) ** 2)
    order = rng.permutation(len(images))
    pairs = np.mean((images[order] - images[np.roll(order, 1)]) ** 2)
    return {"reconstruction_error": float(reconstruction), "pair_error": float(pairs),
            "reconstruction_ratio": float(reconstruction / pairs)}


def _take(batches, count):
    seen = 0
    for batch in batches:
        yield batch[:count - seen]
        seen += len(batch[:count - seen])
        if seen >= count:
            return


def scores(gan, data, img_dim, extractor, metrics, num_samples, batch_size=50, seed=0):
    """The chosen scores of a live or loaded O-GAN."""
    out = {}
    if {"fid", "kid"} & set(metrics):
        def generate(count, rng):
            z = latents.draw(rng, (count, gan.generator.input_shape[-1]))
            return gan.generator.predict(z, verbose=0), None
        out.update(score_generator(extractor, metrics, generate,
                                   real_images(data, img_dim, batch_size, num_samples, seed),
                                   real_key(data, img_dim), num_samples, batch_size, seed))
    if "reconstruction_ratio" in metrics:
        images = reconstruction_images(data, img_dim, batch_size, min(num_samples, 1000), seed)
        out.update(reconstruction_scores(gan, images, np.random.default_rng(seed)))
    return out


@cli.exits_cleanly
def main(argv=None):
    parser = evaluate_parser("ogan_keras", __doc__, METRICS, "inception")
    parser.add_argument("--data", default=None, help="real images (default: the run's --data)")
    args = parser.parse_args(argv)
    metrics = chosen_metrics(args, METRICS)
    extractor = features.extractor(args.features, args.classifier, args.inception_weights) \
        if {"fid", "kid"} & set(metrics) else None
    gan, options = load_run(args.checkpoint)
    return print_scores(scores(gan, args.data or options.data, options.img_dim, extractor,
                               metrics, args.num_samples, args.batch_size, args.seed))


if __name__ == "__main__":
    main()
