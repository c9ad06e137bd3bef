"""Moving a loop to new embeddings of its pool (a better encoder finished behind the session),
held set aside from any proposal: the labels, the history and the store stay as they are."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InputError
from ..pool import learner_reads_texts
from ..vectors.matrix import check_embeddings


def switch_loop(loop: Any, embeddings: Any, test_embeddings: Any = None, *, missing: Any = None) -> None:
    """Move ``loop`` (an :class:`~.active.ActiveLoop`) to new embeddings of its pool: the next
    proposal trains, anchors and searches on them; the labels, the history and the store stay
    as they are (they hold ids). A held-out set that a learner reads as embeddings needs
    ``test_embeddings`` from the same encoder. ``missing``: rows still to come, as for
    :meth:`Pool.swap`. Call it between proposals, holding the loop."""
    test = loop.test
    reads_embeddings = not learner_reads_texts(loop.learner)
    if test is not None and reads_embeddings:
        if test_embeddings is None:
            raise InputError("the held-out set is embeddings of the old encoder: pass test_embeddings from the new one")
        test_embeddings = check_embeddings(test_embeddings)
        if test_embeddings.shape != (len(test[1]), np.shape(embeddings)[1]):
            raise InputError(
                f"test_embeddings must have shape ({len(test[1])}, {np.shape(embeddings)[1]}), "
                f"got {test_embeddings.shape}"
            )
    loop.pool.swap(embeddings, missing=missing)
    if test is not None and reads_embeddings:
        loop.test = (test_embeddings, test[1])
    loop.model_ = None  # fitted on the old embeddings: a reader must not score the new ones with it
