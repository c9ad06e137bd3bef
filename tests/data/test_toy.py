"""The toy pool: seeded, shaped like figure 1 (a seen minority cluster, hidden ones), and with
embeddings whose cosine neighbours are plane neighbours."""

import numpy as np
import pytest

from anchoral_widget.data.toy import DEFAULT_CENTRES, FEATURES, MAJORITY, MINORITY, SEEN, load_toy
from anchoral_widget.errors import InputError


@pytest.fixture(scope="module")
def toy():
    return load_toy(n_majority=1500, cluster_size=30, seen_size=40)


def test_shapes_and_types(toy):
    n = 1500 + 40 + 30 * (len(DEFAULT_CENTRES) - 1)
    assert toy.coords.shape == (n, 2) and toy.coords.dtype == np.float32
    assert toy.embeddings.shape == (n, FEATURES) and toy.embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(toy.embeddings, axis=1), 1, atol=1e-5)
    assert toy.labels.shape == toy.clusters.shape == (n,)
    assert toy.classes == [MAJORITY, MINORITY] and toy.minority == [MINORITY]


def test_clusters_and_labels_agree(toy):
    assert set(toy.labels[toy.clusters < 0]) == {MAJORITY}
    assert set(toy.labels[toy.clusters >= 0]) == {MINORITY}
    assert (toy.clusters == SEEN).sum() == 40
    assert toy.hidden_clusters == list(range(1, len(DEFAULT_CENTRES)))
    for c in toy.hidden_clusters:
        assert (toy.clusters == c).sum() == 30
        centre = toy.coords[toy.clusters == c].mean(axis=0)
        assert np.linalg.norm(centre - DEFAULT_CENTRES[c]) < 0.05


def test_seeded():
    a, b, c = load_toy(n_majority=300, seed=1), load_toy(n_majority=300, seed=1), load_toy(n_majority=300, seed=2)
    assert np.array_equal(a.coords, b.coords) and np.array_equal(a.embeddings, b.embeddings)
    assert np.array_equal(a.clusters, b.clusters)
    assert not np.array_equal(a.coords, c.coords)


def test_ids_are_shuffled(toy):
    # the minority is not a block at the end of the pool
    assert np.flatnonzero(toy.clusters >= 0).min() < len(toy.clusters) // 2


def test_cosine_neighbours_are_plane_neighbours(toy):
    queries = np.arange(0, len(toy.coords), 37)
    plane = ((toy.coords[queries, None, :] - toy.coords[None, :, :]) ** 2).sum(-1)
    cosine = -(toy.embeddings[queries] @ toy.embeddings.T)
    k = 20
    near_plane = np.argsort(plane, axis=1)[:, :k]
    near_cosine = np.argsort(cosine, axis=1)[:, :k]
    overlap = np.mean([len(set(a) & set(b)) / k for a, b in zip(near_plane, near_cosine)])
    assert overlap > 0.8


def test_initial_ids_come_from_the_seen_cluster_only(toy):
    ids = toy.initial_ids(size=30, per_minority=5)
    assert len(ids) == 30 and len(np.unique(ids)) == 30
    minority = ids[toy.clusters[ids] >= 0]
    assert len(minority) == 5 and set(toy.clusters[minority]) == {SEEN}
    assert np.array_equal(ids, toy.initial_ids(size=30, per_minority=5))
    assert not np.array_equal(ids, toy.initial_ids(size=30, per_minority=5, seed=99))


def test_bad_arguments():
    with pytest.raises(InputError):
        load_toy(centres=[(0, 0)])
    with pytest.raises(InputError):
        load_toy(n_majority=0)
    with pytest.raises(InputError):
        load_toy(n_majority=100, seen_size=10).initial_ids(size=50, per_minority=20)
