"""The toy pool and the comparison of its filters that the replay's tests share."""

from anchoral_widget.data.toy import load_toy
from anchoral_widget.replay.compare import compare

LOOP = dict(batch_size=10, anchors_per_class=3, neighbours=20, subpool_size=100, index="exact")


def toy_pool():
    """The toy pool: a majority, a seen minority cluster and hidden ones."""
    return load_toy(n_majority=900, cluster_size=25, seen_size=30)


def toy_comparison(toy, **options):
    """Every filter run on the toy pool from its initial set, with its map and groups; ``options``
    go to :func:`compare` too."""
    return compare(
        toy.embeddings,
        toy.labels,
        classes=toy.classes,
        minority=toy.minority,
        initial_ids=toy.initial_ids(30),
        coords=toy.coords,
        groups=toy.clusters,
        budget=50,
        **options,
        **LOOP,
    )
