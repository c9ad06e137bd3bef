"""Two people label one pool in two sessions through one PostgreSQL store: their batches never
overlap, each next batch is proposed from both people's labels, and a batch sent while the
server is down comes back with its answers and goes in whole once it is back."""

import pytest
from postgres_server import free_port
from sessions import B, answer_all, batch_ids, eye_pool, make


def server_away(backend):
    """The store's server cannot be reached from now on (a port nobody listens on; 0.5 s of retries)."""
    backend.url, backend.retry_seconds = f"postgresql://postgres@127.0.0.1:{free_port()}/x", 0.5
    backend.close()


@pytest.fixture
def data():
    return eye_pool()


def test_two_sessions_share_one_store(data, postgres):
    url = postgres.new_database()
    alice = make(data, store=url, annotator="alice")
    bob = make(data, store=url, annotator="bob")  # the same seed labels: stored already, not given twice
    try:
        a, b = batch_ids(alice), batch_ids(bob)
        assert len(a) == len(b) == B and not set(a) & set(b), "batches never overlap"
        assert len(bob.labels) == 2
        alice.handle({"kind": "submit", "iteration": answer_all(alice)["iteration"]})
        assert alice.wait(30)
        bob.handle({"kind": "submit", "iteration": answer_all(bob, "eye")["iteration"]})
        assert bob.wait(30)
        assert set(a) | set(b) <= set(bob.labels.id), "bob's session holds alice's labels too"
        assert bob.loop.pending.labelled_count == 2 + 2 * B, "his next batch is proposed from both"
        assert not set(batch_ids(bob)) & set(batch_ids(alice))
        assert bob.snapshot()["progress"]["store"].startswith("postgresql://")
    finally:
        alice.close(wait=True)
        bob.close(wait=True)


def test_a_batch_sent_while_the_server_is_down_comes_back_with_its_answers(data, postgres):
    url = postgres.new_database()
    session = make(data, store=url, annotator="alice")
    try:
        it, ids = session.snapshot()["iteration"], batch_ids(session)
        session.handle({"kind": "skip", "ids": [ids[0]], "iteration": it})
        session.handle({"kind": "rest", "label": "eye", "iteration": it})
        answers = session.snapshot()["answers"]
        backend = session.loop.store._backend
        server_away(backend)
        session.handle({"kind": "submit", "iteration": it})
        assert session.wait(30)
        s = session.snapshot()
        assert "cannot be reached" in s["error"] and s["answers"] == answers and batch_ids(session) == ids
        backend.url = url  # the server is back
        session.handle({"kind": "submit", "iteration": it})
        assert session.wait(30)
        assert set(ids[1:]) <= set(session.labels.id) and session.loop.skipped_ids.tolist() == [ids[0]]
    finally:
        session.close(wait=True)


def test_a_batch_stored_halfway_when_the_server_went_down_goes_in_once_when_sent_again(data, postgres, monkeypatch):
    url = postgres.new_database()
    session = make(data, store=url, annotator="alice")
    try:
        it, ids = session.snapshot()["iteration"], batch_ids(session)
        session.handle({"kind": "skip", "ids": [ids[0]], "iteration": it})
        session.handle({"kind": "rest", "label": "eye", "iteration": it})
        loop, backend = session.loop, session.loop.store._backend
        real_skip = loop.skip

        def server_goes_down(*args, **kw):  # after the labels went in, before the skip (and the undo)
            server_away(backend)
            return real_skip(*args, **kw)

        monkeypatch.setattr(loop, "skip", server_goes_down)
        session.handle({"kind": "submit", "iteration": it})
        assert session.wait(30)
        assert "cannot be reached" in session.snapshot()["error"] and batch_ids(session) == ids
        monkeypatch.undo()
        backend.url = url
        session.handle({"kind": "submit", "iteration": it})  # the labels are in already: not given twice
        assert session.wait(30)
        assert session.snapshot()["error"] in (None, "")
        assert set(ids[1:]) <= set(session.labels.id) and session.loop.skipped_ids.tolist() == [ids[0]]
        assert session.loop.iteration == 1
    finally:
        session.close(wait=True)


def test_overlap_shows_items_again_and_a_conflict_is_resolved_from_the_review(data, postgres):
    url = postgres.new_database()
    alice = make(data, store=url, annotator="alice")
    bob = make(data, store=url, annotator="bob", overlap=0.4)  # two of five items: alice's, for a second answer
    try:
        second = bob.loop.pending.second_ids.tolist()
        assert sorted(second) == sorted(alice.loop.labels) and set(second) <= set(batch_ids(bob)), "shown on cards"
        bob.handle({"kind": "submit", "iteration": answer_all(bob, "other")["iteration"]})  # "other" to alice's eye
        assert bob.wait(30)
        eye = next(i for i, c in alice.loop.labels.items() if c == "eye")
        agreement = alice.review.agreement()
        assert agreement.items == 2 and agreement.conflicts == [eye]
        assert agreement.answers[eye] == {"alice": "eye", "bob": "other"} and bob.loop.labels[eye] == "eye"
        pages = []
        alice.on_map(lambda header, _: pages.append(header) if header["kind"] == "review_page" else None)
        alice.handle({"kind": "review_page", "conflicts": True})  # the review view's queue of conflicts
        assert [(r["id"], r["conflict"], r["others"]) for r in pages[-1]["rows"]] == [(eye, True, [["bob", "other"]])]
        assert "1 conflict to resolve" in pages[-1]["agreement"]
        alice.handle({"kind": "review_resolve", "ids": [eye], "to": "eye", "conflicts": True})
        assert pages[-1]["total"] == 0 and pages[-1]["text"] == "decided: eye (1 item)"
        assert [r.kind for r in alice.loop.store.rows()][-1] == "resolve"
        assert bob.review.agreement().conflicts == [], "bob sees alice's decision"
        alice.review.remove([eye])
        assert eye not in set(alice.labels.id)
    finally:
        alice.close(wait=True)
        bob.close(wait=True)
