"""The map: one builder of the traces and one vocabulary, whatever draws them (the static figure,
the widget's payload), whose declarations the front end fills (js/test/map-example.json is the
example both sides check)."""

import base64
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from maps import by_uid, projected_pool, state

from anchoral_widget.views.hover import format_value
from anchoral_widget.views.mapfigure import map_figure, map_traces
from anchoral_widget.views.mapstate import map_state
from anchoral_widget.views.mapupdate import map_update_payload
from anchoral_widget.views.projection import Projection
from anchoral_widget.views.styles import (
    BATCH_COLOUR,
    MAJORITY_COLOURS,
    MINORITY_COLOURS,
    POOL_COLOUR,
    RENDERER,
    SUBPOOL_COLOUR,
    map_declarations,
)

#: The example map that this file and js/test/mapdata.test.js both check.
EXAMPLE = Path(__file__).resolve().parents[2] / "js" / "test" / "map-example.json"


@pytest.fixture
def pool():
    return projected_pool()


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
