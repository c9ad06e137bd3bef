"""A 2-D toy pool for classrooms, after figure 1 of the paper: a large majority, one minority
cluster the initial labels come from ("seen"), and several minority clusters no initial label
touches ("hidden"). Whether a pool filter ever finds the hidden clusters is path dependence made
visible.

The points live in the plane, and the map shows them where they are (no UMAP). The loop,
though, compares items by *cosine* similarity, and on raw 2-d vectors cosine sees only the
angle: every anchor would retrieve a wedge through the origin. So the loop's embeddings are
random Fourier features of the points (Rahimi & Recht 2007), unit-normalised: their cosine
similarity approximates a Gaussian kernel of the distance in the plane, so cosine neighbours
are plane neighbours (about 93% of the 30 nearest agree at the default settings), and the
logistic-regression learner on them draws a curved boundary, as in figure 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

MAJORITY, MINORITY = "majority", "minority"
SEEN = 0  # cluster id of the seen minority cluster; hidden ones are 1, 2, ...; majority is -1

# Where the minority clusters sit in [-1, 1]^2: the seen one first, then the hidden ones,
# from near the seen cluster (reachable by following neighbours) to far away.
DEFAULT_CENTRES = (
    (-0.55, -0.05),  # seen
    (-0.55, 0.17),  # touching the seen one
    (-0.35, 0.33),  # one step further along
    (0.45, -0.25),
    (0.15, -0.60),
    (0.80, 0.80),
)
FEATURES = 64  # dimensions of the embeddings
BANDWIDTH = 0.2  # the kernel's length scale, in plane units


@dataclass(frozen=True)
class ToyData:
    """The toy pool.

    Attributes
    ----------
    coords : (n, 2) float32
        Where each point is in the plane: the map.
    embeddings : (n, FEATURES) float32
        Unit vectors for the loop: random Fourier features of ``coords``.
    labels : (n,) object
        ``"majority"`` or ``"minority"``.
    clusters : (n,) int
        -1 for majority points, 0 for the seen minority cluster, 1.. for the hidden ones.
    classes, minority : list
        ``["majority", "minority"]`` and ``["minority"]``.
    """

    coords: np.ndarray
    embeddings: np.ndarray
    labels: np.ndarray
    clusters: np.ndarray
    classes: list
    minority: list
    seed: int

    @property
    def hidden_clusters(self) -> list[int]:
        return sorted(int(c) for c in np.unique(self.clusters) if c > SEEN)

    def initial_ids(self, size: int = 50, per_minority: int = 5, seed: int | None = None) -> np.ndarray:
        """The initial labelled set: ``per_minority`` points of the *seen* cluster and the rest
        majority points, drawn at random (seeded)."""
        rng = np.random.default_rng([self.seed if seed is None else seed, 11])
        seen = np.flatnonzero(self.clusters == SEEN)
        majority = np.flatnonzero(self.clusters < SEEN)
        if not 0 < per_minority <= len(seen) or not 0 <= size - per_minority <= len(majority):
            raise InputError(f"cannot draw {size} initial items with {per_minority} from the seen cluster")
        chosen = np.concatenate(
            [rng.choice(seen, per_minority, replace=False), rng.choice(majority, size - per_minority, replace=False)]
        )
        return np.sort(chosen).astype(np.int64)


def fourier_features(
    coords: np.ndarray, dim: int = FEATURES, bandwidth: float = BANDWIDTH, seed: int = 0
) -> np.ndarray:
    """Plane -> unit vectors whose dot product approximates ``exp(-d^2 / (2 bandwidth^2))``,
    ``d`` the distance in the plane: cosine neighbours are plane neighbours."""
    rng = np.random.default_rng([seed, 5])
    weights = rng.normal(0.0, 1.0 / bandwidth, (2, dim))
    phases = rng.uniform(0.0, 2 * np.pi, dim)
    features = np.cos(np.asarray(coords, dtype=np.float64) @ weights + phases)
    return (features / np.linalg.norm(features, axis=1, keepdims=True)).astype(np.float32)


def load_toy(
    n_majority: int = 5000,
    cluster_size: int = 40,
    seen_size: int = 60,
    spread: float = 0.045,
    centres=DEFAULT_CENTRES,
    seed: int = 0,
) -> ToyData:
    """Build the toy pool (seeded: the same arguments give the same pool).

    The majority is a broad structure (three wide blobs over a uniform background) covering
    the square; the minority is ``len(centres)`` tight clusters: the first is seen, the others
    hidden. Points are shuffled, so ids say nothing about clusters.
    """
    centres = np.asarray(centres, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) < 2:
        raise InputError("centres must be at least two (x, y) pairs: the seen cluster and a hidden one")
    if n_majority < 1 or cluster_size < 1 or seen_size < 1:
        raise InputError("n_majority, cluster_size and seen_size must be positive")
    rng = np.random.default_rng([seed, 3])
    n_uniform = n_majority * 2 // 5
    blobs = np.array([[-0.35, 0.1], [0.35, 0.3], [0.1, -0.45]])
    which = rng.integers(0, len(blobs), n_majority - n_uniform)
    majority = np.concatenate([rng.uniform(-1, 1, (n_uniform, 2)), blobs[which] + rng.normal(0, 0.28, (len(which), 2))])
    majority = np.clip(majority, -1, 1)
    sizes = [seen_size] + [cluster_size] * (len(centres) - 1)
    minority = np.concatenate([c + rng.normal(0, spread, (s, 2)) for c, s in zip(centres, sizes)])
    coords = np.concatenate([majority, minority]).astype(np.float32)
    clusters = np.concatenate([np.full(n_majority, -1), np.repeat(np.arange(len(centres)), sizes)])
    order = rng.permutation(len(coords))
    coords, clusters = coords[order], clusters[order].astype(np.int64)
    labels = np.where(clusters >= 0, MINORITY, MAJORITY).astype(object)
    embeddings = fourier_features(coords, seed=seed)
    return ToyData(coords, embeddings, labels, clusters, [MAJORITY, MINORITY], [MINORITY], seed)
