"""The map and curves of a labelling session: deltas carry only what changed, a sync carries
everything, the curves say when F1 is an estimate, and the map never holds up a batch."""

import numpy as np
import pytest

from anchoral_widget.data.toy import load_toy
from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.errors import InputError
from anchoral_widget.session.startup import build_session
from anchoral_widget.views.mapupdate import decode_payload
from anchoral_widget.views.mapview import MapView
from anchoral_widget.views.placement import Placement
from anchoral_widget.views.projection import Projection


@pytest.fixture(scope="module")
def toy():
    return load_toy(n_majority=600, cluster_size=15, seen_size=20, seed=0)


def seeds(toy):
    return {
        int(np.flatnonzero(toy.labels == "minority")[0]): "minority",
        int(np.flatnonzero(toy.labels == "majority")[0]): "majority",
    }


def session(toy, **params):
    texts = [f"point {i}" for i in range(len(toy.coords))]
    s = build_session(
        texts,
        toy.classes,
        toy.minority,
        embeddings=toy.embeddings,
        seed_labels=seeds(toy),
        store=None,
        map=params.pop("map", toy.coords),
        batch_size=5,
        index="exact",
        neighbours=20,
        subpool_size=100,
        **params,
    )
    messages = []
    s.on_map(lambda header, buffers: messages.append((header, buffers)))
    s.start()
    assert s.wait(60)
    return s, messages


def answer_all(s, label="majority"):
    it = s.snapshot()["iteration"]
    s.handle({"kind": "rest", "iteration": it, "label": label})
    s.handle({"kind": "submit", "iteration": it})
    assert s.wait(60)


def test_the_first_message_is_full_and_later_ones_carry_only_what_changed(toy):
    s, messages = session(toy)
    assert len(messages) == 1
    first, buffers = messages[0]
    assert first["full"] and set(first["layers"]) == {"pool", "subpool", "labelled", "anchors", "batch"}
    layers = decode_payload(first, buffers)
    assert np.array_equal(np.sort(layers["batch"]["ids"]), np.sort([c["id"] for c in s.snapshot()["batch"]]))
    # positions of the toy data are its coordinates
    assert np.allclose(layers["batch"]["xy"], toy.coords[layers["batch"]["ids"]])
    # the map's traces as views/styles.py declares them, sent with the full map only
    assert [d["trace"]["uid"] for d in first["traces"]][-1] == "highlight" and "layout" in first
    answer_all(s)
    delta, buffers = messages[-1]
    assert not delta["full"] and "pool" not in delta["layers"]
    assert "traces" not in delta and "layout" not in delta
    assert delta["layers"]["labelled"]["mode"] == "append"
    new = decode_payload(delta, buffers)["labelled"]["ids"]
    assert sorted(new.tolist()) == sorted(layers["batch"]["ids"].tolist())  # the batch just labelled, only
    assert set(delta["texts"]) <= {
        str(i) for name in delta["layers"] for i in decode_payload(delta, buffers)[name]["ids"]
    }
    s.close()


def test_a_seed_sends_only_the_labelled_layer(toy):
    s, messages = session(toy)
    batch = {c["id"] for c in s.snapshot()["batch"]}
    free = next(i for i in range(len(toy.coords)) if i not in batch and i not in seeds(toy))
    s.handle({"kind": "seed", "ids": [free], "label": "majority"})
    assert s.wait(60)
    header, buffers = messages[-1]
    assert set(header["layers"]) == {"labelled"}
    assert decode_payload(header, buffers)["labelled"]["ids"].tolist() == [free]
    s.close()


def test_map_sync_sends_the_whole_current_map(toy):
    s, messages = session(toy)
    answer_all(s)
    s.handle({"kind": "map_sync"})
    header, buffers = messages[-1]
    assert header["full"] and set(header["layers"]) == {"pool", "subpool", "labelled", "anchors", "batch"}
    layers = decode_payload(header, buffers)
    assert len(layers["pool"]["ids"]) == len(toy.coords)
    assert sorted(layers["labelled"]["ids"].tolist()) == sorted(s.loop.labelled_ids.tolist())
    # texts only of the coloured layers, never the whole pool's: a hover or click asks
    coloured = set(np.concatenate([layers[n]["ids"] for n in ("subpool", "labelled", "anchors", "batch")]).tolist())
    assert {int(i) for i in header["texts"]} == coloured and len(coloured) < len(toy.coords)
    s.handle({"kind": "map_text", "ids": [3]})
    assert messages[-1] == ({"kind": "map_text", "texts": {"3": "point 3"}}, [])
    with pytest.raises(InputError):
        s.handle({"kind": "map_text", "ids": [10**6]})
    s.close()


def test_curves_are_marked_as_an_estimate_without_a_test_set(toy):
    s, _ = session(toy)
    batch = {c["id"] for c in s.snapshot()["batch"]}
    rare = next(int(i) for i in np.flatnonzero(toy.labels == "minority") if i not in batch and i not in seeds(toy))
    s.handle({"kind": "seed", "ids": [rare], "label": "minority"})  # two per class: CV can run
    for _ in range(2):
        answer_all(s, "majority")
    curves = s.snapshot()["curves"]
    assert curves["estimate"] is True and curves["test"] is False
    assert "estimate" in curves["titles"][1]
    by = {t["uid"]: t for t in curves["traces"]}
    assert by["minority:labelled"]["x"] == [0, 1, 2]  # two finished iterations and the batch on screen
    assert all(v is None for v in by["f1:minority"]["y"])  # no test-set F1 ...
    assert by["f1:majority:estimate"]["y"][-1] is not None  # ... but an estimate
    assert by["minority:subpool:predicted"]["y"][-1] is not None
    assert by["counts:0"]["y"] == [1, 6, 11] and by["counts:1"]["y"] == [1, 2, 2]
    assert {"seconds:train", "seconds:subpool", "seconds:strategy"} <= set(by)
    s.close()


def test_with_a_test_set_the_curves_show_test_f1(toy):
    rng = np.random.default_rng(1)
    test_ids = rng.choice(len(toy.coords), 100, replace=False)
    s, _ = session(toy, test=(toy.embeddings[test_ids], list(toy.labels[test_ids])))
    answer_all(s)
    curves = s.snapshot()["curves"]
    assert curves["estimate"] is False and curves["test"] is True
    by = {t["uid"]: t for t in curves["traces"]}
    assert by["f1:majority"]["y"][-1] is not None and all(v is None for v in by["f1:majority:estimate"]["y"])
    s.close()


def test_test_texts_are_encoded_with_the_encoder(toy):
    class Encoder:
        def encode(self, texts):
            return toy.embeddings[[int(t.split()[1]) for t in texts]]

    texts = [f"point {i}" for i in range(len(toy.coords))]
    s = build_session(
        texts,
        toy.classes,
        toy.minority,
        embeddings=toy.embeddings,
        encoder=Encoder(),
        store=None,
        test=(["point 1", "point 2"], ["majority", "minority"]),
    )
    assert np.array_equal(s.loop.test[0], toy.embeddings[[1, 2]])
    with pytest.raises(InputError):
        build_session(
            texts,
            toy.classes,
            embeddings=toy.embeddings,
            encoder=Encoder(),
            store=None,
            test=(["point 1"], ["majority", "minority"]),
        )


class SlowProjection(Projection):
    """A map whose fit takes as long as the test says."""

    def __init__(self, coords, gate):
        super().__init__(np.column_stack([coords, np.ones(len(coords))]).astype(np.float32), process=False)
        self.coords, self.gate = coords, gate

    def _run(self, labelled_ids):
        self._progress.phase, self._progress.fraction = "layout", 0.4
        self.gate.wait(30)
        self.sample_ids_, self.sample_xy_ = np.arange(len(self.coords)), self.coords
        self._placement = Placement(
            self.embeddings, self.sample_ids_, self.coords, index=None, neighbours=self.neighbours, placed=self.coords
        )
        self.fit_seconds_ = 0.0
        self._progress.status, self._progress.fraction = "ready", 1.0


def test_the_map_fits_in_the_background_without_holding_up_a_batch(toy):
    import threading

    gate = threading.Event()
    s, messages = session(toy, map=SlowProjection(toy.coords, gate))
    snap = s.snapshot()
    assert snap["phase"] == "ready" and snap["batch"]  # the batch came while the map was fitting
    assert snap["map_status"] == {"status": "fitting", "fraction": 0.4, "text": "map: fitting UMAP… 40%"}
    assert messages == []
    gate.set()
    s._map._watcher.join(10)
    assert s.wait(30)
    assert s.snapshot()["map_status"]["text"] == "" and messages[-1][0]["full"]
    s.close()


def test_map_off_and_bad_coordinates(toy):
    s, messages = session(toy, map=False)
    assert s.snapshot()["map_status"]["status"] == "off" and messages == []
    with pytest.raises(InputError):
        s.handle({"kind": "map_sync"})
    s.close()
    loop = ActiveLoop(toy.embeddings, toy.classes)
    with pytest.raises(InputError, match="shape"):
        MapView(loop, projection=toy.coords[:-1])
