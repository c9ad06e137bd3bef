"""Which labels to look at again: the label check run on a session's labels, as a table.

The labelled rows are copied under the loop's lock and checked outside it, so labelling goes on
while the folds are fitted. The check always fits its own models on the pool's vectors (seconds),
whatever learner proposes the batches: five fine-tunings of a transformer would take minutes to
hours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.learners.label_check import check_labels
from .guarded import GuardedLoop


def label_check_frame(guarded: GuardedLoop, *, seed: int = 0) -> pd.DataFrame:
    """Every label (whose vector is in), the least probable first: id, text, label, suggested,
    probability (out of fold, of the label given), flagged (the models prefer another class)."""
    with guarded.held() as loop:
        if loop is None:
            raise RuntimeError("the pool is still being prepared: no labels to check yet")
        ids, given = loop.labelled_in_id_order()  # less items whose vectors are still to come
        X = np.array(loop.embeddings[ids], dtype=np.float32)
        texts = loop.texts
        names = list(loop.classes)
    check = check_labels(X, given, len(names), seed=seed)
    order = check.order
    return pd.DataFrame(
        {
            "id": ids[order],
            "text": [None if texts is None else texts[i] for i in ids[order].tolist()],
            "label": [names[c] for c in given[order]],
            "suggested": [names[c] for c in check.suggested[order]],
            "probability": check.quality[order],
            "flagged": check.flagged[order],
        }
    )
