"""Sample-quality scores from feature statistics: Frechet distance (FID) and KID.

FID (Heusel et al. 2017): |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of two feature
sets' means and (unbiased) covariances, accumulated batch by batch. KID (Binkowski et al.
2018): the unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3, averaged over random
subsets. Feature extractors are in common.features.
"""
import numpy as np
from scipy import linalg


class FeatureStatistics:
    """Running mean and covariance of feature vectors, updated batch by batch in float64,
    so FID never holds all features at once. `keep` > 0 also keeps up to that many
    feature vectors (uniformly sampled) for KID."""

    def __init__(self, keep=0, seed=0):
        self.count, self.total, self.outer = 0, None, None
        self.keep, self.kept, self.rng = keep, [], np.random.default_rng(seed)

    def update(self, features):
        features = np.asarray(features, np.float64).reshape(len(features), -1)
        if self.total is None:
            dim = features.shape[1]
            self.total, self.outer = np.zeros(dim), np.zeros((dim, dim))
        self.total += features.sum(axis=0)
        self.outer += features.T @ features
        for row in features:  # reservoir sampling: every vector is kept with equal chance
            self.count += 1
            if len(self.kept) < self.keep:
                self.kept.append(row)
            elif self.keep:
                slot = self.rng.integers(0, self.count)
                if slot < self.keep:
                    self.kept[slot] = row
        return self

    def mean(self):
        return self.total / self.count

    def covariance(self):
        """Unbiased (divided by n - 1), as numpy.cov and the reference FID code."""
        mean = self.mean()
        return (self.outer - self.count * np.outer(mean, mean)) / (self.count - 1)

    def features(self):
        return np.asarray(self.kept)

    def save(self, path):
        np.savez(path, count=self.count, total=self.total, outer=self.outer,
                 kept=np.asarray(self.kept), keep=self.keep)

    @classmethod
    def load(cls, path):
        with np.load(path) as saved:
            stats = cls(keep=int(saved["keep"]))
            stats.count, stats.total, stats.outer = int(saved["count"]), saved["total"], \
                saved["outer"]
            stats.kept = list(saved["kept"])
        return stats


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """|mean_a - mean_b|^2 + Tr(cov_a + cov_b - 2 sqrtm(cov_a cov_b)). The trace of the
    square root is taken from the eigenvalues of sqrt(cov_a) cov_b sqrt(cov_a), which has
    the same spectrum but is symmetric: no complex round-off, no singular-matrix fallback."""
    diff = np.asarray(mean_a, np.float64) - np.asarray(mean_b, np.float64)
    root_a = _psd_sqrt(np.asarray(cov_a, np.float64))
    product = root_a @ np.asarray(cov_b, np.float64) @ root_a
    trace_root = np.sum(np.sqrt(np.clip(linalg.eigvalsh((product + product.T) / 2), 0, None)))
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def _psd_sqrt(matrix):
    values, vectors = linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def fid(stats_a, stats_b):
    """Frechet distance of two FeatureStatistics."""
    return frechet_distance(stats_a.mean(), stats_a.covariance(),
                            stats_b.mean(), stats_b.covariance())


def polynomial_mmd2(x, y):
    """Unbiased MMD^2 of two equal-size sets with k(a, b) = (a.b / d + 1)^3."""
    m, dim = len(x), x.shape[1]
    within = (x @ x.T / dim + 1) ** 3 + (y @ y.T / dim + 1) ** 3
    across = (x @ y.T / dim + 1) ** 3
    return ((within.sum() - np.trace(within)) / (m - 1) - across.sum() * 2 / m) / m


def kid(features_a, features_b, subsets=100, subset_size=1000, seed=0):
    """(mean, std) of the unbiased polynomial-kernel MMD^2 over `subsets` random subsets of
    `subset_size` vectors from each set (fewer when a set is smaller), as the KID paper."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    values = [polynomial_mmd2(a[rng.choice(len(a), size, replace=False)],
                              b[rng.choice(len(b), size, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))
