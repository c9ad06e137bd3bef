"""The session fetches the next subpool's neighbour lists while the person reads a batch, so the
wait after a submit holds no search of the pool; the work ahead changes no batch."""

import threading

import numpy as np
from sessions import answer_all, eye_pool, make, seeds

from anchoral_widget.session.lookahead import Lookahead


class HeldJobs:
    """A lookahead that keeps the jobs it is given, for the test to run when it chooses."""

    def __init__(self):
        self.jobs = []

    def submit(self, job):
        self.jobs.append(job)

    def close(self):
        pass


def test_after_a_submit_the_next_batch_searches_nothing_of_the_pool():
    data = eye_pool()
    session = make(data, seed_labels=seeds(data[1], rare=4, other=40))
    lists = session.loop.pool_filter.lists
    assert session._lookahead.wait_idle(30)
    session._proposer.lookahead = held = HeldJobs()
    for _ in range(3):
        s = answer_all(session)
        searched = lists.searched
        session.submit(iteration=s["iteration"])
        assert session.wait(30) and session.snapshot()["iteration"] == s["iteration"] + 1
        assert lists.searched == searched, "the next anchors' lists were fetched while the batch was read"
        assert len(held.jobs) == 1, "the new batch's lists are given to fetch ahead"
        held.jobs.pop()()  # the person reads the new batch
    session.close(wait=True)


def test_the_work_ahead_changes_no_batch():
    data = eye_pool()
    batches = []
    for ahead in (True, False):
        session = make(data, seed_labels=seeds(data[1], rare=4, other=40))
        if not ahead:
            session._lookahead.close()
        run = []
        for _ in range(3):
            s = answer_all(session)
            run.append(sorted(c["id"] for c in s["batch"]))
            session.submit(iteration=s["iteration"])
            assert session.wait(30)
        batches.append(run)
        session.close(wait=True)
    assert batches[0] == batches[1]


def test_a_job_given_while_one_runs_replaces_the_one_waiting():
    lookahead, ran = Lookahead(), []
    gate = threading.Event()
    lookahead.submit(lambda: (gate.wait(10), ran.append("first")))
    for name in ("second", "third"):
        lookahead.submit(lambda name=name: ran.append(name))
    gate.set()
    assert lookahead.wait_idle(10)
    assert ran in (["first", "third"], ["third"]), "the waiting job was replaced by the newest"
    lookahead.close()


def test_a_job_that_fails_is_dropped_and_the_next_runs(caplog):
    lookahead, ran = Lookahead(), []
    lookahead.submit(lambda: 1 / 0)
    assert lookahead.wait_idle(10)
    lookahead.submit(lambda: ran.append(np.int64(1)))
    assert lookahead.wait_idle(10) and ran == [1]
    assert "fetching neighbour lists ahead failed" in caplog.text
    lookahead.close()
