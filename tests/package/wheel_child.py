"""Run by test_wheel.py inside a fresh venv that holds the built wheel and its dependencies, and
nothing of the repository: a headless loop, then the widget's first batches on a pool of real
titles, answered through the widget's own message handler as the front end sends them.

argv: a JSON file of [texts, labels] and a folder to work in. Prints one JSON line of findings.
"""

import json
import sys
from pathlib import Path

import anchoral_widget as aw

texts, labels = json.loads(Path(sys.argv[1]).read_text())
work = Path(sys.argv[2])
found = {"module": aw.__file__}

toy = aw.load_toy()
loop = aw.ActiveLoop(toy.embeddings, toy.classes, minority=toy.minority, seed=0)
seed_ids = toy.initial_ids()
loop.label(seed_ids, toy.labels[seed_ids])
loop.simulate(toy.labels, budget=100)
found["headless_labels"] = len(loop.labels_frame())

seeds = {labels.index("eye"): "eye", labels.index("other"): "other"}
w = aw.Labeller(
    texts, classes=["other", "eye"], minority=["eye"], seed_labels=seeds, map=False, store=str(work / "labels.db")
)
stages = []
w.observe(lambda change: stages.append(change["new"].get("stage")), "startup")
assert w.wait(600), "no first batch in 10 min"
first = [card["id"] for card in w.batch]
for i in first:  # what the front end sends: one message per card, then submit
    w._on_msg(w, {"kind": "label", "iteration": w.iteration, "ids": [i], "label": labels[i]}, [])
w._on_msg(w, {"kind": "submit", "iteration": w.iteration}, [])
assert w.wait(600), "no second batch in 10 min"
found.update(
    stages=stages,
    first=len(first),
    iteration=w.iteration,
    error=w.error,
    stored=len(w.labels),
    esm=len(w._esm),
    store=str(w.store),
)
w.close()
print("FOUND " + json.dumps(found))
