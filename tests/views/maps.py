"""The small map that the map's tests draw: 300 points projected on a plane and one iteration's
layers over them."""

import numpy as np

from anchoral_widget.views.mapstate import map_state
from anchoral_widget.views.projection import Projection

CLASSES = ["common", "rare"]


def projected_pool():
    """300 points on a plane (a ready projection) and their embeddings."""
    rng = np.random.default_rng(0)
    coords = rng.uniform(-1, 1, (300, 2)).astype(np.float32)
    embeddings = np.column_stack([coords, np.ones(len(coords))]).astype(np.float32)
    return Projection.from_coords(coords), embeddings


def state(projection, embeddings, **overrides):
    args = dict(
        classes=CLASSES,
        minority=["rare"],
        iteration=3,
        labelled_ids=[1, 2, 3, 4],
        labelled_classes=[0, 1, 0, 1],
        subpool_ids=[10, 11, 12, 13, 14],
        subpool_scores=[0.9, 0.8, 0.7, 0.6, 0.5],
        anchor_ids=[1, 2],
        anchor_classes=[0, 1],
        batch_ids=[10, 12],
        embeddings=embeddings,
    )
    args.update(overrides)
    return map_state(projection, **args)


def by_uid(fig):
    return {t.uid: t for t in fig.data}
