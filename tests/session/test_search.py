import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.errors import InputError
from anchoral_widget.session.search import encode_query, nearest_texts, quiet_encoder


class Recorder:
    progress, cache_dir = True, None

    def encode(self, texts):
        return np.ones((len(texts), 4), dtype=np.float32)


def test_the_query_encoder_keeps_nothing_on_disk_and_leaves_the_original_alone():
    original = Recorder()
    quiet = quiet_encoder(original)
    assert (quiet.progress, quiet.cache_dir) == (False, False)
    assert (original.progress, original.cache_dir) == (True, None)


def test_a_query_from_another_encoder_is_refused():
    assert encode_query(Recorder(), "eye", 4).shape == (1, 4)
    with pytest.raises(InputError, match="4-d vectors but the embeddings are 16-d"):
        encode_query(Recorder(), "eye", 16)


def test_nearest_texts_show_what_is_already_known():
    X, _y, _ = clustered_pool(n=300)
    texts = [f"text {i}" for i in range(300)]
    loop = ActiveLoop(X, ["other", "rare"], ["rare"], subpool_size=100, index="exact")
    loop.label([5], ["rare"])
    loop.skip([6])
    hits = nearest_texts(loop, texts, X[5][None, :], k=5)
    assert hits[0] == {"id": 5, "text": "text 5", "similarity": 1.0, "label": "rare", "skipped": False}
    assert len(hits) == 5 and [h["similarity"] for h in hits] == sorted((h["similarity"] for h in hits), reverse=True)
