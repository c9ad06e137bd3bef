"""A researcher's view of a comparison: what the strategy saw, in tables, on hover and on click;
each iteration's model fitted again as the loop fitted it."""

import pytest
from comparisons import toy_comparison, toy_pool

from anchoral_widget.errors import InputError


@pytest.fixture(scope="module")
def toy():
    return toy_pool()


@pytest.fixture(scope="module")
def with_texts(toy):
    texts = [f"item {i} <of {toy.labels[i]}>" for i in range(len(toy.labels))]
    return toy_comparison(toy, texts=texts, estimate_f1=False)


def test_the_model_is_fitted_again_as_the_loop_fitted_it(with_texts):
    """The uncertainty of iteration t comes from the model fitted on the labelled set of t: the
    entropy strategy's batch is exactly its top of the subpool, in batch order."""
    for t in (0, 2, 4):
        record = with_texts.runs["anchoral"].loop.history[t]
        u = with_texts.uncertainty("anchoral", t)
        assert set(u) == set(record.subpool_ids)
        ranked = sorted(record.subpool_ids, key=lambda i: -u[i])
        assert sorted(ranked[:10]) == sorted(record.batch_ids)
        assert [u[i] for i in record.batch_ids] == sorted((u[i] for i in record.batch_ids), reverse=True)
    assert with_texts.uncertainty_name("anchoral") == "entropy"


def test_subpool_and_batch_tables_say_why_the_batch_was_picked(with_texts):
    record = with_texts.runs["anchoral"].loop.history[2]
    by_score = with_texts.subpool_table("anchoral", 2, top=None)
    assert len(by_score) == len(record.subpool_ids)
    assert list(by_score.columns) == [
        "subpool rank",
        "id",
        "score",
        "uncertainty (entropy)",
        "P(minority)",
        "batch rank",
        "label (oracle)",
        "text",
        "retrieved by (anchor)",
    ]
    assert by_score["subpool rank"].tolist() == list(range(1, len(by_score) + 1))
    assert list(by_score["score"]) == sorted(by_score["score"], reverse=True)
    # by uncertainty, the batch comes first, in its own order: why these 10 of the 100
    by_uncertainty = with_texts.subpool_table("anchoral", 2, by="uncertainty", top=12)
    assert by_uncertainty["batch rank"].tolist()[:10] == list(range(1, 11))
    assert by_uncertainty["batch rank"].isna().tolist()[10:] == [True, True]
    assert by_uncertainty["id"].tolist()[:10] == record.batch_ids
    batch = with_texts.batch_table("anchoral", 2)
    assert batch["id"].tolist() == record.batch_ids and batch["batch rank"].tolist() == list(range(1, 11))
    assert list(batch.columns)[:2] == ["batch rank", "id"]
    assert batch["label (oracle)"].tolist() == record.batch_labels
    assert all(w.split(" ")[0][1:].isdigit() for w in batch["retrieved by (anchor)"])
    anchors = {int(w.split(" ")[0][1:]) for w in batch["retrieved by (anchor)"]}
    assert anchors <= set(record.anchor_ids)
    # one name for one thing: the anchor that retrieved an item, in both tables
    assert "retrieved by (anchor)" in by_score.columns and not {"nearest anchor", "via anchor"} & set(batch.columns)
    table = with_texts.anchors_table("anchoral", 2)
    assert sorted(table["anchor"]) == sorted(record.anchor_ids)
    assert table["batch items it retrieved"].sum() == 10
    # the full pool has no subpool to show; its batch has no subpool rank
    with pytest.raises(InputError, match="whole pool"):
        with_texts.subpool_table("none", 2)
    assert "subpool rank" not in with_texts.batch_table("none", 2).columns
    with pytest.raises(InputError, match="by must be"):
        with_texts.subpool_table("anchoral", 2, by="text")


def test_a_point_tells_all_the_map_knows_of_it(with_texts):
    record = with_texts.runs["anchoral"].loop.history[3]
    item = record.batch_ids[1]
    point = with_texts.point("anchoral", 3, item)
    assert point["layers"] == ["subpool", "batch"] and point["batch rank"] == "2 of 10"
    assert point["subpool rank"].endswith(f" of {len(record.subpool_ids)}") and 0 <= point["score"] <= 1
    assert point["uncertainty (entropy)"] == pytest.approx(with_texts.uncertainty("anchoral", 3)[item], abs=1e-3)
    assert point["retrieved by (anchor)"].startswith("#") and point["text"].startswith(f"item {item} ")
    anchor = with_texts.point("anchoral", 3, record.anchor_ids[0])
    assert anchor["layers"] == ["labelled", "anchors"] and "batch rank" not in anchor
    with pytest.raises(InputError, match="no pool item"):
        with_texts.point("anchoral", 3, 10**6)
    with pytest.raises(InputError, match="no run 'seals'"):
        with_texts.point("seals", 3, 0)


def test_describe_says_what_this_run_found(with_texts):
    words = with_texts.describe().splitlines()
    found = {n: int(with_texts.minority_found(n)[-1]) for n in with_texts.filters}
    first = max(found, key=found.get)
    assert words[0].startswith("Minority items found with 50 labels: " + f"{first} {found[first]}")
    for name, n in found.items():
        assert f"{name} {n}" in words[0]
    assert words[1].startswith("Hidden clusters reached (of 5): ")
    assert f"(the whole pool: {with_texts.pool_share:.1%})" in words[2] and "none" not in words[2]


def test_the_inspector_shows_a_clicked_point_and_follows_the_slider(with_texts):
    from plotly.callbacks import Points

    box = with_texts.inspect("anchoral", 1)
    controls, fig, details = box.children
    slider = controls.children[1]
    assert slider.value == 1 and slider.max == 4
    traces = {t.name: t for t in fig.data}
    assert traces["pool sample"].hoverinfo == "skip"  # the background answers no hover
    assert fig._config.get("responsive") and fig.layout.autosize and fig.layout.width is None
    batch = traces["batch"]
    assert list(batch.customdata) == with_texts.state("anchoral", 1).batch.ids.tolist()
    # whichever layer plotly's hover picks for a batch item (its subpool point lies under the
    # ring), the line is the same, and it names the batch rank and the model's uncertainty
    subpool = traces["subpool (AnchorAL score)"]
    item = int(batch.customdata[0])
    line = batch.hovertext[0]
    assert subpool.hovertext[list(subpool.customdata).index(item)] == line
    assert "batch rank 1 of 10" in line and "uncertainty" in line and "&lt;of" in line
    batch._dispatch_on_click(Points(point_inds=[0], xs=[0], ys=[0], trace_name="batch", trace_index=0), None)
    assert "batch rank" in details.value and f"item {item} &lt;of" in details.value
    slider.value = 3
    assert list(fig.data[[t.name for t in fig.data].index("batch")].customdata) == (
        with_texts.state("anchoral", 3).batch.ids.tolist()
    )
    assert "iteration 3" in fig.layout.title.text and "Click" in details.value
