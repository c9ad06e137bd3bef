"""The live curves: sources per iteration, estimate markers, the JSON payload."""

import json
import math

import numpy as np
import pytest

from anchoral_widget.engine.loop.active import IterationRecord
from anchoral_widget.views.curves import curve_data, curves_figure, curves_payload

CLASSES = ["common", "rare"]


def by_uid(fig):
    """A figure's traces by series (curves_traces' uids; the figure's own uids have no colon)."""
    return {t.meta["series"] if t.meta else t.uid: t for t in fig.data}


def record(i, batch_labels, *, test=None, estimate=None, subpool=None, predicted=None):
    extra = {}
    if estimate is not None:
        extra["f1_estimate"] = {"minority_f1": estimate, "majority_f1": 0.9, "estimate": True}
    if predicted is not None:
        extra["minority_in_subpool_predicted"] = predicted
    return IterationRecord(
        iteration=i,
        labelled_count=10 + 2 * i,
        anchor_ids=[],
        anchor_classes=[],
        subpool_ids=[],
        subpool_scores=[],
        batch_ids=[100 + i, 200 + i],
        batch_labels=batch_labels,
        skipped_ids=[],
        minority_in_labelled=0.1 * i,
        minority_in_subpool=subpool,
        seconds={"train": 0.1, "subpool": 0.2, "strategy": 0.3, "total": 0.6},
        test=test,
        extra=extra,
    )


def test_curve_data_reads_sources_and_flags_estimates():
    history = [
        record(0, ["rare", "common"], test={"minority_f1": 0.5, "majority_f1": 0.8}, subpool=0.3),
        record(1, ["rare", "rare"], estimate=0.6, predicted=0.25),
        record(2, ["common", "common"], test={"minority_f1": 0.7, "majority_f1": 0.85}, estimate=0.1, subpool=0.2),
    ]
    c = curve_data(history, CLASSES, ["rare"], initial_counts={"common": 8, "rare": 2})
    assert c.iteration.tolist() == [0, 1, 2]
    assert c.minority_f1.tolist() == [0.5, 0.6, 0.7]  # the test set wins over an estimate
    assert c.f1_estimated.tolist() == [False, True, False]
    assert c.minority_subpool.tolist() == [0.3, 0.25, 0.2] and c.subpool_estimated.tolist() == [False, True, False]
    assert c.counts["rare"].tolist() == [3, 5, 5] and c.counts["common"].tolist() == [9, 9, 11]
    assert c.seconds["strategy"].tolist() == [0.3, 0.3, 0.3]
    # the same from JSON-ready dicts (a trace)
    from dataclasses import asdict

    d = curve_data([asdict(r) for r in history], CLASSES, ["rare"], initial_counts={"common": 8, "rare": 2})
    assert np.array_equal(d.minority_f1, c.minority_f1) and np.array_equal(d.counts["rare"], c.counts["rare"])


def test_curves_figure_marks_estimates():
    history = [record(i, ["rare", "common"], estimate=0.5 + 0.1 * i, subpool=0.2) for i in range(3)]
    fig = curves_figure(curve_data(history, CLASSES, ["rare"]))
    traces = by_uid(fig)
    assert {
        "minority:labelled",
        "minority:subpool",
        "f1:minority",
        "f1:minority:estimate",
        "f1:majority",
        "seconds:train",
        "seconds:subpool",
        "seconds:strategy",
        "counts:0",
        "counts:1",
    } <= set(traces)
    assert traces["f1:minority:estimate"].line.dash == "dash"
    assert "estimate" in traces["f1:minority:estimate"].name
    assert traces["f1:minority:estimate"].y == pytest.approx((0.5, 0.6, 0.7))
    assert traces["f1:minority"].showlegend is False  # no test-set points at all
    titles = [a.text for a in fig.layout.annotations]
    assert any("estimate" in t for t in titles)
    assert fig.layout.barmode == "stack" and traces["seconds:subpool"].type == "bar"
    measured = curves_figure(
        curve_data([record(0, ["rare"], test={"minority_f1": 0.4, "majority_f1": 0.9})], CLASSES, ["rare"])
    )
    assert not any("estimate" in a.text for a in measured.layout.annotations)


def test_curves_payload_sends_new_points_as_json():
    history = [record(i, ["rare", "common"], estimate=0.5, subpool=0.2) for i in range(4)]
    payload = curves_payload(curve_data(history, CLASSES, ["rare"]), since=2)
    json.dumps(payload, allow_nan=False)
    assert payload["from"] == 2 and payload["iteration"] == [2, 3]
    assert payload["series"]["f1:minority:estimate"] == [0.5, 0.5]
    assert payload["series"]["f1:minority"] == [None, None]
    assert all(len(v) == 2 for v in payload["series"].values())
    assert not any(isinstance(v, float) and math.isnan(v) for s in payload["series"].values() for v in s)


def test_each_panel_has_its_own_legend_and_the_share_axis_fits_its_lines():
    """One legend per panel (no name twice in one legend); the share axis follows the shares
    (a rare class's lie between 0.05 and 0.2, squashed on 0-1), with the whole pool's share as
    a dotted line, the one the subpools are compared with."""
    history = [record(i, ["rare", "common"], estimate=0.5, subpool=0.05 + 0.05 * i) for i in range(3)]
    fig = curves_figure(curve_data(history, CLASSES, ["rare"], pool_share=0.01))
    legends = {}
    for t in fig.data:
        if t.showlegend is not False:
            legends.setdefault(t.legend or "legend", []).append(t.name)
    assert set(legends) == {"legend", "legend2", "legend3", "legend4"}
    for names in legends.values():
        assert len(names) == len(set(names)), names
    traces = by_uid(fig)
    pool = traces["minority:pool"]
    assert list(pool.y) == [0.01, 0.01] and pool.line.dash == "dot" and pool.name == "whole pool (1.0%)"
    assert pool.xaxis == traces["minority:subpool"].xaxis and pool.legend == traces["minority:subpool"].legend
    share_axis = fig.layout.yaxis
    assert share_axis.range is None and share_axis.rangemode == "tozero" and share_axis.tickformat == ".0%"
    assert fig.layout.yaxis2.range == (0, 1.02)  # F1 keeps its whole scale
    # each legend beside its own panel
    assert fig.layout.legend2.x > fig.layout.xaxis2.domain[1] and fig.layout.legend3.y <= fig.layout.yaxis3.domain[1]
    # uids that make valid CSS selectors (plotly builds '.cb' + uid): no colon
    assert all(":" not in t.uid for t in fig.data) and traces["minority:labelled"].uid == "minority-labelled"
    # without the pool's share (a labelling session's curves), no such line
    assert "minority:pool" not in by_uid(curves_figure(curve_data(history, CLASSES, ["rare"])))


def test_the_rare_items_in_the_pool_are_drawn_beside_the_labels_once_estimated():
    """Found plus left, with its interval as a band, from the iteration of the first estimate on;
    before it the series are empty (and out of the legend), and the band's low end never shows."""
    history = [record(i, ["rare", "common"]) for i in range(3)]
    history[1].extra["rare_estimate"] = {"found": 4, "left": 10.0, "low": 6.0, "high": 20.0}
    history[2].extra["rare_estimate"] = {"found": 5, "left": 8.0, "low": 5.0, "high": 15.0}
    c = curve_data(history, CLASSES, ["rare"])
    assert np.isnan(c.rare_in_pool[0]).all()
    assert c.rare_in_pool[1:].tolist() == [[14, 10, 24], [13, 10, 20]]
    traces = by_uid(curves_figure(c))
    estimate, low, high = traces["rare:estimate"], traces["rare:low"], traces["rare:high"]
    assert estimate.xaxis == traces["counts:1"].xaxis and estimate.yaxis == traces["counts:1"].yaxis
    assert list(estimate.y[1:]) == [14, 13] and estimate.line.dash == "dash"
    assert high.fill == "tonexty" and list(fig_order(c)).index("rare:low") + 1 == list(fig_order(c)).index("rare:high")
    assert low.showlegend is False and high.showlegend is True and estimate.showlegend is True
    payload = curves_payload(c)
    json.dumps(payload, allow_nan=False)
    assert payload["series"]["rare:estimate"] == [None, 14.0, 13.0]
    # no estimate at all: the series stay (stable uids), out of the legend
    none = by_uid(curves_figure(curve_data(history[:1], CLASSES, ["rare"])))
    assert none["rare:estimate"].showlegend is False and none["rare:high"].showlegend is False


def fig_order(c):
    return [t.meta["series"] for t in curves_figure(c).data]
