"""The map's update payload: the first one full and round-tripping, the next ones only what
changed, texts sent once, and the whole pool sent once to the widget."""

import json
from dataclasses import replace

import numpy as np
import pytest
from maps import CLASSES, projected_pool, state

from anchoral_widget.views.mapupdate import decode_payload, map_update_payload, payload_bytes
from anchoral_widget.views.projection import Projection
from anchoral_widget.views.styles import MINORITY_COLOURS, map_layout


@pytest.fixture
def pool():
    return projected_pool()


def test_first_payload_is_full_and_round_trips(pool):
    projection, embeddings = pool
    s = state(projection, embeddings)
    header, buffers = map_update_payload(None, s)
    json.dumps(header)  # the header is plain JSON
    assert header["kind"] == "map_update" and header["full"] and header["iteration"] == 3
    assert header["classes"] == CLASSES and header["minority"] == ["rare"]
    declared = {d["trace"]["uid"]: d["trace"] for d in header["traces"]}
    assert declared["labelled-1"]["marker"]["color"] == MINORITY_COLOURS[0]
    assert declared["anchors-1"]["marker"]["symbol"] == declared["anchors-0"]["marker"]["symbol"] == "star"
    assert header["layout"] == map_layout()
    assert set(header["layers"]) == {"pool", "subpool", "labelled", "anchors", "batch"}
    arrays = decode_payload(header, buffers)
    assert arrays["pool"]["ids"].tolist() == list(range(300))
    assert np.array_equal(arrays["subpool"]["xy"], s.subpool.xy)
    assert arrays["subpool"]["scores"].dtype == np.float32
    assert arrays["labelled"]["mode"] == "replace" and arrays["labelled"]["classes"].tolist() == [0, 1, 0, 1]
    assert arrays["batch"]["anchor"].tolist() == s.batch.values.tolist()
    ref = header["layers"]["subpool"]["xy"]
    assert ref["dtype"] == "float32" and ref["shape"] == [5, 2] and len(buffers[ref["buffer"]]) == 5 * 2 * 4
    assert header["layers"]["subpool"]["ids"]["dtype"] == "int32"
    assert payload_bytes(header, buffers) == len(json.dumps(header)) + sum(map(len, buffers))


def test_next_payload_sends_only_what_changed(pool):
    projection, embeddings = pool
    first = state(projection, embeddings)
    second = state(
        projection,
        embeddings,
        iteration=4,
        labelled_ids=[1, 2, 3, 4, 10, 12],
        labelled_classes=[0, 1, 0, 1, 1, 0],
        batch_ids=[11, 13],
    )
    header, buffers = map_update_payload(first, second, texts=[f"t{i}" for i in range(300)])
    assert not header["full"] and "classes" not in header
    assert set(header["layers"]) == {"labelled", "batch"}  # pool, subpool and anchors unchanged
    arrays = decode_payload(header, buffers)
    assert arrays["labelled"]["mode"] == "append"
    assert arrays["labelled"]["ids"].tolist() == [10, 12] and arrays["labelled"]["classes"].tolist() == [1, 0]
    assert arrays["batch"]["ids"].tolist() == [11, 13]
    assert header["texts"] == {}  # 10..13 were already sent with the subpool
    unchanged, _ = map_update_payload(second, second)
    assert unchanged["layers"] == {}
    # the same pool ids at new positions (a new map) is a new pool: everything is sent again

    moved = replace(second, pool=replace(second.pool, xy=second.pool.xy + 1))
    assert map_update_payload(second, moved)[0]["full"]


def test_undo_replaces_the_labelled_layer_and_texts_are_sent_once(pool):
    projection, embeddings = pool
    texts = [f"t{i}" for i in range(300)]
    first = state(projection, embeddings)
    undone = state(
        projection,
        embeddings,
        labelled_ids=[1, 2, 3],
        labelled_classes=[0, 1, 0],
        subpool_ids=[20, 21],
        subpool_scores=[0.5, 0.4],
        batch_ids=[20],
    )
    header, buffers = map_update_payload(first, undone, texts=texts, text_chars=2)
    arrays = decode_payload(header, buffers)
    assert arrays["labelled"]["mode"] == "replace" and arrays["labelled"]["ids"].tolist() == [1, 2, 3]
    assert header["texts"] == {"20": "t…", "21": "t…"}
    full, _ = map_update_payload(None, first, texts=texts)
    assert "0" not in full["texts"]  # no texts for the pool sample
    assert set(full["texts"]) == {str(i) for i in [10, 11, 12, 13, 14, 1, 2, 3, 4]}


class SampledProjection(Projection):
    """A ready map of 2-d coordinates whose sample is every third item (as UMAP's would be)."""

    def __init__(self, coords):
        super().__init__(coords)
        self.sample_ids_ = np.arange(0, len(coords), 3)
        self.sample_xy_ = coords[self.sample_ids_]


def test_the_widgets_map_holds_the_whole_pool_and_sends_it_once(pool):
    _, embeddings = pool
    coords = embeddings[:, :2].copy()
    projection = SampledProjection(coords)
    static = state(projection, embeddings)
    assert np.array_equal(static.pool.ids, projection.sample_ids_)  # a static figure: the sample
    first = state(projection, embeddings, whole_pool=True)
    assert np.array_equal(first.pool.ids, np.arange(300)) and np.array_equal(first.pool.xy, coords)
    header, buffers = map_update_payload(None, first, texts=[f"t{i}" for i in range(300)])
    assert len(decode_payload(header, buffers)["pool"]["ids"]) == 300
    # the pool's texts never go with it: only those of the coloured layers
    assert set(header["texts"]) == {str(i) for i in (1, 2, 3, 4, 10, 11, 12, 13, 14)}
    pool_decl = next(d for d in header["traces"] if d["layer"] == "pool")
    assert pool_decl["trace"]["name"] == "pool" and pool_decl["shading"] == "density"
    # the next batch: the pool is the projection's same arrays, not sent again
    later = state(projection, embeddings, whole_pool=True, iteration=4, subpool_ids=[20, 21], subpool_scores=[0.5, 0.4])
    assert later.pool.ids is first.pool.ids and later.pool.xy is first.pool.xy
    header, _ = map_update_payload(first, later)
    assert not header["full"] and "pool" not in header["layers"] and "subpool" in header["layers"]
