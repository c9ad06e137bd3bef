"""Three people label one pool through one PostgreSQL store while each of their kernels is
killed (SIGKILL) at random and restarted, and the server itself is restarted without a
checkpoint: every acknowledged label is in the store once, none is doubled, none lost."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.store_backends import open_backend

HERE = Path(__file__).parent
PEOPLE = ("alice", "bob", "carol")
SECONDS = 30.0
KILLS = 8
LONGEST = 120.0  # a busy machine starts kernels slowly: labelling goes on until KILLS, and everyone labelled
PARAMS = dict(classes=["other", "rare"], minority=["rare"], batch_size=10, subpool_size=300, index="exact")


class Member:
    """A labelling process whose ACK lines are read as they come."""

    def __init__(self, url: str, name: str, round_: int, logs: Path):
        env = dict(os.environ, PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        self.log = logs / f"{name}-{round_}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(HERE / "team_child.py"), url, name, str(round_)],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )
        self.acked: list[int] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith("ACK"):
                self.acked.append(int(line.split()[1]))

    def state(self) -> str:
        """How the process is, and the end of what it wrote to stderr: for a failure's message."""
        code = self.process.poll()
        return f"{'running' if code is None else f'exited {code}'}: {self.log.read_text()[-800:]!r}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.reader.join(10)


def test_kills_of_every_kernel_and_of_the_server_lose_and_double_nothing(postgres, tmp_path):
    url = postgres.new_database()
    X, y, _ = clustered_pool(n=3000, d=32)
    lead = ActiveLoop(X, store=url, annotator="lead", **PARAMS)
    init = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:20]]
    lead.label(init, y[init])
    lead.store.close()
    acked: set[int] = set(init.tolist())

    rng = np.random.default_rng(0)
    rounds = dict.fromkeys(PEOPLE, 0)
    members = {name: Member(url, name, 0, tmp_path) for name in PEOPLE}
    kills = server_restarts = 0
    start = time.monotonic()
    # on a busy machine a kernel may start slowly, or meet the server restarting and retry for a
    # while: labelling goes on until each member has labelled and KILLS were made (or LONGEST)
    labelled_once: set[str] = set()
    while (elapsed := time.monotonic() - start) < SECONDS or (
        (kills < KILLS or labelled_once < set(PEOPLE)) and elapsed < LONGEST
    ):
        labelled_once |= {name for name in PEOPLE if members[name].acked}
        time.sleep(float(rng.uniform(0.5, 2.0)))
        if rng.random() < 0.15:
            postgres.restart()  # immediate: no checkpoint, like a crash
            server_restarts += 1
            continue
        # a kernel is killed once it has stored a label since its start: on a busy machine one
        # killed while still importing would never label, and nothing would be tested of it
        started = [name for name in PEOPLE if members[name].acked]
        if not started:
            continue
        name = str(rng.choice(started))
        members[name].kill()
        acked.update(members[name].acked)
        kills += 1
        rounds[name] += 1
        members[name] = Member(url, name, rounds[name], tmp_path)
    if server_restarts == 0:
        postgres.restart()
        server_restarts = 1
    time.sleep(3)  # labelling goes on after the last restart
    states = {name: member.state() for name, member in members.items()}
    for member in members.values():
        member.kill()
        acked.update(member.acked)

    log = open_backend(url)
    rows = log.rows()
    log.close()
    labelled = [i for r in rows if r.kind == "label" for i in json.loads(r.payload)["ids"]]
    assert len(labelled) == len(set(labelled)), "an item labelled twice"
    assert acked <= set(labelled), f"acknowledged but lost: {sorted(acked - set(labelled))[:10]}"
    by = {r.annotator for r in rows if r.kind == "label"}
    silent = {name: states[name] for name in PEOPLE if name not in by}
    assert not silent, f"every member labelled: {kills} kills, {server_restarts} restarts, {rounds}; {silent}"
    resumed = ActiveLoop(X, store=url, annotator="lead", **PARAMS)
    assert set(resumed.labels) == set(labelled) and all(resumed.labels[i] == y[i] for i in labelled)
    print(f"{kills} kills, {server_restarts} server restarts, {len(acked)} acknowledged labels")
    assert kills >= KILLS and server_restarts >= 1 and len(acked) > 100
