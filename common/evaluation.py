"""What every `python -m <pkg>.evaluate` and `.generate` shares: the flags, real-image
statistics computed once, and a Scorer of generated batches (FID/KID and class scores).

Not part of any tutorial: the originals judged their GANs by eye; these scores let a user
compare a port with its tutorial, or one run with another, by more than losses.
"""
import hashlib
import json
import os

import numpy as np

from common import cli, features
from common.callbacks import SCORES, StepCallback
from common.errors import UserError
from common.metrics import FeatureStatistics, fid, kid


GENERATOR_METRICS = ("fid", "kid", "class_accuracy", "confidence")


def add_scoring_flags(parser, metrics, features_default, num_samples=5000):
    """--metrics, --num-samples, --features, --classifier, --inception-weights."""
    group = parser.add_argument_group("scores")
    group.add_argument("--metrics", default=",".join(metrics),
                       help=f"comma-separated, of: {', '.join(metrics)}")
    group.add_argument("--num-samples", type=cli.positive_int, default=num_samples,
                       help="generated (and real) images scored")
    group.add_argument("--features", choices=features.EXTRACTORS, default=features_default,
                       help="feature extractor for fid/kid (default: classifier for 28x28 "
                            "data, else inception)")
    group.add_argument("--classifier", default=None,
                       help="a .keras file from python -m common.classifier")
    group.add_argument("--inception-weights", default=None,
                       help=f"{features.INCEPTION_FILE} (default: the Keras cache)")
    return parser


def evaluate_parser(program, description, metrics, features_default):
    """`python -m {program}.evaluate --checkpoint DIR ...`."""
    parser = cli.parser(program, description, module="evaluate")
    parser.add_argument("--checkpoint", required=True,
                        help="a training run's --output-dir, or its checkpoints folder")
    parser.add_argument("--batch-size", type=cli.positive_int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    return add_scoring_flags(parser, metrics, features_default)


def generate_parser(program, description, num, num_help):
    """`python -m {program}.generate --checkpoint DIR --num N --output-dir OUT [--seed S]`."""
    parser = cli.parser(program, description, module="generate")
    parser.add_argument("--checkpoint", required=True, help="a training run's --output-dir")
    parser.add_argument("--num", type=cli.positive_int, default=num, help=num_help)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def chosen_metrics(args, allowed):
    chosen = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in allowed]
    if unknown or not chosen:
        raise UserError(f"--metrics {args.metrics}: choose from {', '.join(allowed)}")
    return chosen


class Scorer:
    """The scores of `metrics` for generated images against the real images' statistics
    (`real`, from real_statistics; None when no metric needs them): fid, kid (features),
    class_accuracy and confidence (a classifier's predictions of images generated for known
    classes). FID's statistics are accumulated batch by batch; KID keeps a uniform sample of
    up to `keep` feature vectors."""

    def __init__(self, extractor, metrics, real=None, keep=2000, seed=0):
        self.extractor, self.metrics, self.real = extractor, metrics, real
        self.fake = FeatureStatistics(keep=keep, seed=seed + 1)
        self.correct, self.confidence, self.labelled = 0, 0.0, 0
        if {"class_accuracy", "confidence"} & set(metrics) and not extractor.classifies:
            raise UserError("class_accuracy needs --features classifier with --classifier FILE")

    def add_fake(self, images, labels=None):
        feats, probabilities = self.extractor(images)
        self.fake.update(feats)
        if labels is not None and probabilities is not None:
            self.correct += int(np.sum(np.argmax(probabilities, axis=1) == np.ravel(labels)))
            self.confidence += float(np.sum(np.max(probabilities, axis=1)))
            self.labelled += len(labels)

    def scores(self):
        out = {}
        if "fid" in self.metrics:
            out["fid"] = fid(self.fake, self.real)
        if "kid" in self.metrics:
            out["kid"], out["kid_std"] = kid(self.fake.features(), self.real.features())
        if "class_accuracy" in self.metrics and self.labelled:
            out["class_accuracy"] = self.correct / self.labelled
        if "confidence" in self.metrics and self.labelled:
            out["confidence"] = self.confidence / self.labelled
        out["num_samples"] = self.fake.count
        if {"fid", "kid"} & set(self.metrics):
            out["num_real"] = self.real.count
            out["features"] = self.extractor.description
        return out


def quantised(images):
    """Images in [-1, 1] rounded to the 256 levels a saved image has, as the real images (read
    from 8-bit files) are: the generator's in-between values cannot count for or against it."""
    return np.round((np.asarray(images, np.float32) + 1) * 127.5).clip(0, 255) / 127.5 - 1


def statistics_cache_dir():
    """Where real-image statistics are kept between runs: $XDG_CACHE_HOME (or ~/.cache)/
    gan_tutorials_keras3/real_statistics, as stylegan2-ada keeps its dataset statistics."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "gan_tutorials_keras3", "real_statistics")


_REAL_STATISTICS = {}


def real_statistics(extractor, real_batches, count, keep, seed, data_key):
    """FeatureStatistics of up to `count` images of the iterable `real_batches`, computed once:
    kept for the process and on disk under a key of the data (`data_key`: what identifies the
    images, e.g. their files' sizes and times), the extractor, the count and the seed; later
    evaluations (--eval-every, evaluate) read them back instead of decoding the images again."""
    key = hashlib.sha1(f"{data_key}|{extractor.key}|{count}|{keep}|{seed}".encode()).hexdigest()
    if key in _REAL_STATISTICS:
        return _REAL_STATISTICS[key]
    path = os.path.join(statistics_cache_dir(), key[:24] + ".npz")
    try:
        stats = FeatureStatistics.load(path)
    except (OSError, ValueError, KeyError):
        stats = FeatureStatistics(keep=keep, seed=seed)
        for batch in real_batches:
            stats.update(extractor(batch[:count - stats.count])[0])
            if stats.count >= count:
                break
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            stats.save(path)
        except OSError:
            pass  # a cache that cannot be written only costs time
    _REAL_STATISTICS[key] = stats
    return stats


def array_key(array):
    """A key for real_statistics of images held in memory: their bytes' hash."""
    return hashlib.sha1(np.ascontiguousarray(array)).hexdigest()


def score_generator(extractor, metrics, generate, real_batches, real_key, num_samples,
                    batch_size, seed=0):
    """Scores of `num_samples` images from `generate(count, rng) -> (images, labels or None)`
    against up to as many real images from the iterable `real_batches` (images in [-1, 1]),
    whose statistics are computed once per `real_key` (real_statistics)."""
    keep = min(num_samples, 2000)
    real = real_statistics(extractor, real_batches, num_samples, keep, seed, real_key) \
        if {"fid", "kid"} & set(metrics) else None
    scorer = Scorer(extractor, metrics, real, keep, seed)
    rng = np.random.default_rng(seed)
    for start in range(0, num_samples, batch_size):
        images, labels = generate(min(batch_size, num_samples - start), rng)
        scorer.add_fake(quantised(images), labels)
    return scorer.scores()


def print_scores(scores):
    """The one JSON line on stdout that `evaluate` promises."""
    print(json.dumps(scores, sort_keys=True))
    return scores


def add_training_flags(parser, metrics, features_default):
    """--eval-every and the scoring flags, for a train command."""
    group = add_scoring_flags(parser, metrics, features_default, num_samples=1000)
    parser.add_argument("--eval-every", type=cli.non_negative_int, default=0,
                        help="score the generator every N steps into history.csv, "
                             "losses.png and TensorBoard (0: never)")
    return group


def training_extractor(args, metrics):
    """The extractor --eval-every needs, made (and so checked) at start-up; None when no
    chosen metric uses features."""
    if not args.eval_every or not set(GENERATOR_METRICS) & set(metrics):
        return None
    return features.extractor(args.features, args.classifier, args.inception_weights)


class Evaluation(StepCallback):
    """Every `every_steps` steps, `score()`'s dict goes into the LossHistory's row of that step
    (history.csv, a losses.png panel per score, TensorBoard) and one line is printed."""

    def __init__(self, score, history, every_steps, initial_step=0):
        super().__init__(initial_step, every_steps=every_steps)
        self.score, self.history = score, history

    def on_due(self, logs):
        scores = self.score()
        print(f"scores at step {self.step}: {json.dumps(scores, sort_keys=True)}", flush=True)
        self.history.step, self.history.epoch_index = self.step, self.epoch_index
        self.history.record(logs, {k: v for k, v in scores.items()
                                   if isinstance(v, (int, float)) and k in SCORES})
