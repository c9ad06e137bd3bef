"""The map's layers: which ones, in which order, which points, colours and symbols, what a point
says on hover, and the anchor that retrieved each batch item."""

import numpy as np
import pytest
from maps import CLASSES, by_uid, projected_pool, state

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.views.mapfigure import map_figure
from anchoral_widget.views.mapstate import map_state_from_loop, retrieving_anchor
from anchoral_widget.views.projection import Projection
from anchoral_widget.views.styles import (
    ANCHOR_SYMBOL,
    BATCH_COLOUR,
    BATCH_SYMBOL,
    MAJORITY_COLOURS,
    MINORITY_COLOURS,
    POOL_COLOUR,
    SUBPOOL_COLOUR,
    class_colours,
)


@pytest.fixture
def pool():
    return projected_pool()


def test_layers_in_drawing_order(pool):
    fig = map_figure(state(*pool))
    assert [t.uid for t in fig.data] == [
        "pool",
        "subpool",
        "labelled-0",
        "labelled-1",
        "batch",
        "anchors-0",
        "anchors-1",
    ]
    # the anchors' stars above the batch's rings: a ring never covers an anchor
    # the minority's layers are drawn above the majority's, whatever the class order
    flipped = map_figure(state(*pool, classes=["rare", "common"], minority=["rare"]))
    uids = [t.uid for t in flipped.data]
    assert uids[2:4] == ["labelled-1", "labelled-0"] and uids[5:7] == ["anchors-1", "anchors-0"]
    # one renderer for every layer: plotly draws WebGL traces above SVG ones whatever their
    # order, so anchors and batch on SVG would sit under the WebGL points
    assert {t.type for t in fig.data} == {"scattergl"}


def test_points_of_each_layer(pool):
    projection, embeddings = pool
    fig = by_uid(map_figure(state(projection, embeddings)))
    assert list(fig["pool"].customdata) == list(range(300))
    assert list(fig["subpool"].customdata) == [10, 11, 12, 13, 14]
    assert list(fig["labelled-0"].customdata) == [1, 3] and list(fig["labelled-1"].customdata) == [2, 4]
    assert list(fig["anchors-0"].customdata) == [1] and list(fig["anchors-1"].customdata) == [2]
    assert list(fig["batch"].customdata) == [10, 12]
    xy = projection.positions([10, 12])
    assert np.allclose(fig["batch"].x, xy[:, 0]) and np.allclose(fig["batch"].y, xy[:, 1])


def test_colours_and_symbols(pool):
    fig = by_uid(map_figure(state(*pool)))
    assert fig["pool"].marker.color == POOL_COLOUR and fig["pool"].marker.opacity < 0.5
    assert list(fig["subpool"].marker.color) == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5])
    assert fig["subpool"].marker.colorscale is not None
    assert fig["labelled-1"].marker.color == MINORITY_COLOURS[0]  # rare: a minority colour
    assert fig["labelled-0"].marker.color == MAJORITY_COLOURS[0]
    assert fig["anchors-1"].marker.color == MINORITY_COLOURS[0]
    # anchors: stars, told apart by their class's colour (not by a symbol per class index)
    assert fig["anchors-0"].marker.symbol == fig["anchors-1"].marker.symbol == ANCHOR_SYMBOL == "star"
    assert fig["anchors-0"].marker.color == MAJORITY_COLOURS[0]
    assert fig["batch"].marker.color == BATCH_COLOUR and fig["batch"].marker.symbol == BATCH_SYMBOL == "circle-open"


def test_unscored_subpool_gets_one_colour(pool):
    fig = by_uid(map_figure(state(*pool, subpool_scores=None, anchor_ids=[], anchor_classes=[])))
    assert fig["subpool"].marker.color == SUBPOOL_COLOUR
    assert fig["subpool"].name == "subpool"
    assert len(fig["anchors-0"].customdata) == len(fig["anchors-1"].customdata) == 0
    assert list(fig["batch"].customdata) == [10, 12]


def test_hover_text(pool):
    texts = [f"text of item {i} " + "x" * 300 for i in range(300)]
    fig = by_uid(map_figure(state(*pool), texts=texts, text_chars=40))
    hover = fig["batch"].hovertext[0]
    assert hover.startswith("#10") and "text of item 10" in hover and hover.endswith("…")
    assert len(hover.split("<br>")[1]) == 40
    assert "score 0.900" in fig["subpool"].hovertext[0]
    assert "#0" in fig["pool"].hovertext[0]
    no_pool = by_uid(map_figure(state(*pool), texts=texts, pool_hover=False))
    assert no_pool["pool"].hovertext is None and no_pool["pool"].hoverinfo == "skip"


def test_class_colours_are_stable_and_distinct():
    classes = ["a", "b", "c", "d"]
    colours = class_colours(classes, ["b", "d"])
    assert colours == class_colours(classes, ["b", "d"])
    assert len(set(colours.values())) == 4
    assert colours["b"] == MINORITY_COLOURS[0] and colours["d"] == MINORITY_COLOURS[1]
    assert colours["a"] == MAJORITY_COLOURS[0]


def test_retrieving_anchor_is_the_most_similar_anchor():
    E = np.array([[1, 0], [0, 1], [0.9, 0.1], [0.2, 0.8], [1, 1]], dtype=np.float32)
    assert retrieving_anchor(E, [2, 3], [0, 1]).tolist() == [0, 1]
    assert retrieving_anchor(E, [2, 3], []).tolist() == [-1, -1]


def test_batch_layer_records_its_anchor(pool):
    projection, embeddings = pool
    s = state(projection, embeddings)
    assert s.batch.values.tolist() == retrieving_anchor(embeddings, [10, 12], [1, 2]).tolist()
    assert "via anchor #" in by_uid(map_figure(s))["batch"].hovertext[0]


def test_map_of_a_loop_shows_its_proposal():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 8)).astype(np.float32)
    y = np.where(X[:, 0] > 1.2, "rare", "common")
    loop = ActiveLoop(
        X, CLASSES, ["rare"], batch_size=5, subpool_size=50, neighbours=10, anchors_per_class=3, index="exact"
    )
    seed_ids = np.concatenate([np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "common")[:10]])
    loop.label(seed_ids, y[seed_ids])
    proposal = loop.propose()
    projection = Projection.from_coords(X[:, :2])
    s = map_state_from_loop(loop, projection)
    assert s.batch.ids.tolist() == proposal.batch_ids.tolist()
    assert s.subpool.ids.tolist() == proposal.subpool_ids.tolist()
    assert np.allclose(s.subpool.values, proposal.subpool_scores)
    assert s.anchors.ids.tolist() == proposal.anchor_ids.tolist()
    assert sorted(s.labelled.ids.tolist()) == sorted(seed_ids.tolist())
    # each batch item's anchor, or -1: drawn from beyond the anchors' neighbourhoods
    assert s.batch.values.tolist() == proposal.batch_retrieved_by.tolist()
    assert set(s.batch.values.tolist()) <= set(proposal.anchor_ids.tolist()) | {-1}
    loop.label(proposal.batch_ids, y[proposal.batch_ids])
    after = map_state_from_loop(loop, projection)  # nothing pending: only the labelled layer
    assert len(after.subpool) == len(after.batch) == len(after.anchors) == 0
    assert len(after.labelled) == len(seed_ids) + 5
