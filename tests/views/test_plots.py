"""The map: which layers, which colours, which points; the update payload's format; one
builder of the traces, whose declarations the front end fills (js/test/map-example.json is the
example both sides check)."""

import base64
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.views.hover import format_value
from anchoral_widget.views.mapfigure import map_figure, map_traces
from anchoral_widget.views.mapstate import map_state, map_state_from_loop, retrieving_anchor
from anchoral_widget.views.mapupdate import decode_payload, map_update_payload, payload_bytes
from anchoral_widget.views.projection import Projection
from anchoral_widget.views.styles import (
    ANCHOR_SYMBOL,
    BATCH_COLOUR,
    BATCH_SYMBOL,
    MAJORITY_COLOURS,
    MINORITY_COLOURS,
    POOL_COLOUR,
    RENDERER,
    SUBPOOL_COLOUR,
    class_colours,
    map_declarations,
    map_layout,
)

CLASSES = ["common", "rare"]
#: The example map that this file and js/test/mapdata.test.js both check.
EXAMPLE = Path(__file__).resolve().parents[2] / "js" / "test" / "map-example.json"


@pytest.fixture
def pool():
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
    assert set(s.batch.values.tolist()) <= set(proposal.anchor_ids.tolist())
    loop.label(proposal.batch_ids, y[proposal.batch_ids])
    after = map_state_from_loop(loop, projection)  # nothing pending: only the labelled layer
    assert len(after.subpool) == len(after.batch) == len(after.anchors) == 0
    assert len(after.labelled) == len(seed_ids) + 5


# ---- payload ------------------------------------------------------------------------------


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
    from dataclasses import replace

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


# ---- one builder, one vocabulary ------------------------------------------------------------


def test_uids_have_no_colons(pool):
    """plotly builds CSS selectors from uids ('.cb' + uid): a colon made them invalid."""
    s = replace(state(*pool), truth=state(*pool).subpool)
    uids = [t["uid"] for t in map_traces(s, highlight=[])]
    expected = ["pool", "subpool", "truth", "labelled-0", "labelled-1", "batch", "anchors-0", "anchors-1", "highlight"]
    assert uids == expected
    assert all(re.fullmatch(r"[a-z]+(-[0-9]+)?", u) for u in uids)


@pytest.mark.parametrize(
    ("classes", "minority"),
    [
        (["majority", "minority"], ["minority"]),  # the toy
        (["eye", "other"], ["eye"]),  # a text pool, its classes sorted
        (["other", "eye"], ["eye"]),  # the same pool in the widget's order
    ],
)
def test_one_glyph_convention_whatever_the_class_order(classes, minority):
    """Anchors are stars coloured by class, the batch a ring, on every map: the glyph never
    depends on a class's index (once: minority = star on the toy, diamond on text maps)."""
    declared = {d["trace"]["uid"]: d for d in map_declarations(classes, minority)}
    rare = classes.index(minority[0])
    common = 1 - rare
    anchors, labelled = declared[f"anchors-{rare}"]["trace"], declared[f"labelled-{rare}"]["trace"]
    assert anchors["marker"]["symbol"] == "star" and anchors["marker"]["color"] == MINORITY_COLOURS[0]
    assert labelled["marker"]["color"] == MINORITY_COLOURS[0]
    assert declared[f"anchors-{common}"]["trace"]["marker"] == {**anchors["marker"], "color": MAJORITY_COLOURS[0]}
    assert declared["batch"]["trace"]["marker"]["symbol"] == "circle-open"
    assert anchors["name"] == f"anchors: {minority[0]}"  # the legend says it
    # bottom to top: pool, subpool, labelled, batch, anchors; the minority above the majority
    layers = [(d["layer"], d.get("class")) for d in declared.values()]
    assert layers == [
        ("pool", None),
        ("subpool", None),
        ("labelled", common),
        ("labelled", rare),
        ("batch", None),
        ("anchors", common),
        ("anchors", rare),
    ]
    assert {d["trace"]["type"] for d in declared.values()} == {RENDERER}


def test_subpool_legend_and_colours_match_what_is_drawn(pool):
    """The subpool is green (a scale of greens by score, one green unscored): its legend swatch,
    whatever point plotly takes it from, is green, and no class colour is green."""
    fig = by_uid(map_figure(state(*pool)))
    scale = fig["subpool"].marker.colorscale
    assert fig["subpool"].marker.showscale and fig["subpool"].marker.colorbar.title.text == "subpool score"

    def greenish(hex_colour):
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return g > r and g > b

    assert all(greenish(c) for _, c in scale) and greenish(SUBPOOL_COLOUR)
    assert not any(greenish(c) for c in MINORITY_COLOURS + MAJORITY_COLOURS + (POOL_COLOUR, BATCH_COLOUR))


def test_static_figure_and_widget_payload_draw_the_same_traces(pool):
    """map_figure and the widget's message come from the same declarations: every style of a
    static trace is the declared one (the widget adds the highlight and the selection, always
    hovers the pool and draws all of it, which names its layer "pool", not "pool sample")."""
    s = state(*pool)
    header, _ = map_update_payload(None, s)
    declared = {d["trace"]["uid"]: d["trace"] for d in header["traces"]}
    assert list(declared)[-2:] == ["selection", "highlight"]
    assert declared["pool"]["name"] == "pool"
    declared["pool"]["name"] = "pool sample"
    for trace in map_figure(s, texts=[str(i) for i in range(300)]).to_plotly_json()["data"]:
        style = {k: v for k, v in trace.items() if k not in ("x", "y", "customdata", "hovertext")}
        if trace["uid"] == "subpool":
            style["marker"].pop("color")
        assert style == declared[trace["uid"]], trace["uid"]


def test_declarations_are_sent_again_only_when_they_change(pool):
    first = state(*pool)
    header, _ = map_update_payload(first, replace(first, iteration=4))
    assert "traces" not in header and "layout" not in header
    unscored = state(*pool, subpool_scores=None)
    header, _ = map_update_payload(first, unscored)
    subpool = next(d for d in header["traces"] if d["layer"] == "subpool")
    assert subpool["trace"]["marker"]["color"] == SUBPOOL_COLOUR and "colour" not in subpool


def test_hover_values_are_written_as_javascript_writes_them():
    """Number.prototype.toFixed rounds the exact value half away from zero (0.0625 is exact)."""
    assert format_value(np.float32(0.9), 3) == "0.900"
    assert format_value(0.0625, 3) == "0.063" and format_value(-0.0625, 3) == "-0.063"
    assert format_value(-0.0001, 3) == "-0.000" and format_value(-0.0, 3) == "0.000"
    assert format_value(np.int32(5), None) == "5" and format_value(-1, None) == "-1"


def test_hover_text_is_escaped(pool):
    texts = ["<b>bold</b> & co"] * 300
    fig = by_uid(map_figure(state(*pool), texts=texts))
    assert fig["batch"].hovertext[0].endswith("<br>&lt;b&gt;bold&lt;/b&gt; &amp; co")


def example_map() -> dict:
    """The example both sides check: a map_update message as the kernel sends it (buffers in
    base64) and the traces Python draws from it, which the front end must draw the same."""
    coords = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 0]], dtype=np.float32)
    texts = ["Glaucoma", "Otitis", "Cataract <b>left</b>", "Fracture", "Asthma", "Keratitis & more"]
    s = map_state(
        Projection.from_coords(coords),
        classes=["other", "eye"],
        minority=["eye"],
        labelled_ids=[0, 5],
        labelled_classes=[0, 1],
        subpool_ids=[2, 3],
        subpool_scores=[0.9, 0.4],
        anchor_ids=[0, 5],
        anchor_classes=[0, 1],
        batch_ids=[2, 3],
        batch_anchors=[5, -1],
    )
    header, buffers = map_update_payload(None, s, texts=texts)
    highlight = [2, 5]
    known = {int(k): v for k, v in header["texts"].items()}  # what the front end knows
    traces = map_traces(s, texts=known, highlight=highlight)
    plain = json.loads(json.dumps(traces, default=lambda a: a.tolist()))
    return {
        "header": header,
        "buffers": [base64.b64encode(b).decode() for b in buffers],
        "highlight": highlight,
        "traces": plain,
    }


def test_the_example_map_is_the_one_the_front_end_tests_fill():
    """js/test/mapdata.test.js fills this message and must get these traces. After a change to
    the builder, write it again: AW_WRITE_MAP_EXAMPLE=1 pytest tests/views/test_plots.py."""
    example = json.loads(json.dumps(example_map()))
    if os.environ.get("AW_WRITE_MAP_EXAMPLE"):
        EXAMPLE.write_text(json.dumps(example, indent=1, ensure_ascii=False) + "\n")
    assert json.loads(EXAMPLE.read_text()) == example
    uids = [t["uid"] for t in example["traces"]]
    assert uids == [d["trace"]["uid"] for d in example["header"]["traces"] if d["layer"] != "selection"]
    assert example["traces"][-1]["customdata"] == [2, 5]


def test_hover_says_the_same_of_a_point_whichever_layer_answers(pool):
    """An anchor is also a labelled point and a batch item a subpool point, at the same place;
    plotly's hover takes the first of two equally near points (the lower layer). With the
    point details, both layers' hover lines are the same and tell everything: ranks, score,
    the anchor that retrieved it, the model's uncertainty."""
    from anchoral_widget.views.hover import point_details

    s = state(*pool)
    details = point_details(s, uncertainty={10: 0.6931, 12: 0.5})
    assert (
        details[10]
        == "batch rank 1 of 2, via anchor #1 (common) · subpool rank 1 of 5, score 0.900 · uncertainty 0.693"
    )
    assert details[11] == "subpool rank 2 of 5, score 0.800"
    assert details[1] == "anchor, labelled common" and details[3] == "labelled common"
    texts = [f"text {i}" for i in range(300)]
    fig = by_uid(map_figure(s, texts=texts, uncertainty={10: 0.6931}))
    batch_line = fig["batch"].hovertext[0]
    assert batch_line == f"#10 {point_details(s, uncertainty={10: 0.6931})[10]}<br>text 10"
    assert fig["subpool"].hovertext[0] == batch_line
    assert fig["anchors-0"].hovertext[0] == fig["labelled-0"].hovertext[0] == "#1 anchor, labelled common<br>text 1"
    # map_figure always describes its points; the widget's declared format (js/src/mapdata.js
    # writes it) is untouched without details
    assert by_uid(map_figure(s, texts=texts))["batch"].hovertext[0].startswith("#10 batch rank 1 of 2")
    widget_like = {t["uid"]: t for t in map_traces(s, texts=texts)}
    assert widget_like["batch"]["hovertext"][0] == "#10 batch, via anchor #1<br>text 10"


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
