"""FID and KID against references: zero for identical sets, closed forms for Gaussians, a
brute-force unbiased MMD, and independence from the accumulation batch size."""
import numpy as np
import pytest

from common.metrics import FeatureStatistics, fid, frechet_distance, kid, polynomial_mmd2


def test_identical_sets_have_zero_distance():
    x = np.random.default_rng(0).normal(size=(500, 6))
    a, b = FeatureStatistics().update(x), FeatureStatistics().update(x)
    assert fid(a, b) == pytest.approx(0.0, abs=1e-8)


def test_diagonal_gaussians_closed_form():
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 1.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 0.25])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum(var_a + var_b - 2 * np.sqrt(var_a * var_b))
    got = frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert got == pytest.approx(expected, rel=1e-9)


def test_full_covariance_closed_form_and_samples():
    """For commuting covariances S and c^2 S the trace term is (1 - c)^2 Tr(S)."""
    rng = np.random.default_rng(1)
    root = rng.normal(size=(4, 4))
    cov = root @ root.T + np.eye(4)
    shift = np.array([1.0, -1.0, 0.5, 0.0])
    expected = shift @ shift + (1 - 1.5) ** 2 * np.trace(cov)
    assert frechet_distance(np.zeros(4), cov, shift, 2.25 * cov) == pytest.approx(expected)
    a = FeatureStatistics().update(rng.multivariate_normal(np.zeros(4), cov, 40000))
    b = FeatureStatistics().update(rng.multivariate_normal(shift, 2.25 * cov, 40000))
    assert fid(a, b) == pytest.approx(expected, rel=0.05)


def test_accumulation_does_not_depend_on_batch_size():
    x = np.random.default_rng(2).normal(size=(301, 5)) * 3 + 7
    whole = FeatureStatistics().update(x)
    pieces = FeatureStatistics()
    for start in range(0, len(x), 7):
        pieces.update(x[start:start + 7])
    np.testing.assert_allclose(pieces.mean(), x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(pieces.covariance(), np.cov(x, rowvar=False), rtol=1e-9)
    assert fid(whole, pieces) == pytest.approx(0.0, abs=1e-8)


def brute_force_mmd2(x, y):
    """The unbiased estimator written out term by term."""
    k = lambda a, b: (a @ b / len(a) + 1) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_estimator_equals_the_brute_force_formula():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 4)), rng.normal(0.5, 1.0, size=(12, 4))
    assert polynomial_mmd2(x, y) == pytest.approx(brute_force_mmd2(x, y), rel=1e-10)
    # one subset of the whole set: KID is exactly that estimate, with no spread
    mean, std = kid(x, y, subsets=3, subset_size=12)
    assert mean == pytest.approx(brute_force_mmd2(x, y), rel=1e-10) and std < 1e-12


def test_kid_separates_distributions_and_is_unbiased_near_zero():
    rng = np.random.default_rng(4)
    same_a, same_b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    other = rng.normal(0.3, 1.2, size=(2000, 8))
    near_zero, _ = kid(same_a, same_b, subsets=20, subset_size=500)
    apart, _ = kid(same_a, other, subsets=20, subset_size=500)
    assert abs(near_zero) < 0.02 * apart and apart > 0


def test_kept_features_are_a_uniform_sample():
    stats = FeatureStatistics(keep=100, seed=0)
    for start in range(0, 1000, 10):
        stats.update(np.arange(start, start + 10, dtype=float)[:, None])
    kept = stats.features()[:, 0]
    assert len(kept) == 100 and len(set(kept)) == 100
    assert 300 < kept.mean() < 700  # not just the first or the last hundred


def test_real_statistics_are_computed_once_per_data_and_extractor(monkeypatch, tmp_path):
    """Real images are read once: the second scoring of the same data (this process or, from
    the disk cache, the next) never iterates them; other data or another extractor does."""
    from common import evaluation
    from common.features import Thumbnails
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(evaluation, "_REAL_STATISTICS", {})
    reads = []

    def batches(seed):
        reads.append(seed)
        rng = np.random.default_rng(seed)
        for _ in range(3):
            yield rng.uniform(-1, 1, (4, 8, 8, 3)).astype(np.float32)

    def generate(count, rng):
        return rng.uniform(-1, 1, (count, 8, 8, 3)), None

    def score(seed, key, extractor):
        return evaluation.score_generator(extractor, ["fid"], generate, batches(seed), key, 12,
                                          4)["fid"]
    first = score(0, "data-a", Thumbnails())
    assert score(0, "data-a", Thumbnails()) == first and reads == [0]
    evaluation._REAL_STATISTICS.clear()  # a new process: from the disk cache
    assert score(0, "data-a", Thumbnails()) == first and reads == [0]
    assert score(1, "data-b", Thumbnails()) != first and reads == [0, 1]
    assert score(0, "data-a", Thumbnails(size=4)) and reads == [0, 1, 0]


def test_generated_images_are_scored_at_8_bits():
    from common.evaluation import quantised
    images = np.array([-1.0, -0.99999, 0.001, 0.5, 1.0], np.float32)
    levels = (quantised(images) + 1) * 127.5
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    assert quantised(images)[0] == -1.0 and quantised(images)[-1] == 1.0
