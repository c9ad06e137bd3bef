"""The label check on a session's labels: every label once, the doubtful ones first, nothing changed."""

import numpy as np
from conftest import clustered_pool
from sessions import make


def test_the_label_check_puts_wrong_labels_first_and_changes_no_label():
    X, y, _ = clustered_pool(n=600, d=64, rare_clusters=(0, 1, 2), seed=3)
    texts = [f"{'eye' if label == 'rare' else 'other'} text {i}" for i, label in enumerate(y)]
    data = X, y, texts
    rare, other = np.flatnonzero(y == "rare"), np.flatnonzero(y == "other")
    wrong = other[:3]
    seed_labels = {int(i): "eye" for i in rare} | {int(i): "other" for i in other[3:150]}
    seed_labels |= {int(i): "eye" for i in wrong}
    session = make(data, seed_labels=seed_labels)
    before = session.labels.sort_values("id").reset_index(drop=True)

    check = session.label_check()

    assert sorted(check["id"].tolist()) == sorted(seed_labels)
    assert set(wrong.tolist()) <= set(check["id"].head(5).tolist())
    top = check.set_index("id").loc[wrong]
    assert top["flagged"].all() and (top["label"] == "eye").all()
    assert (top.loc[top["flagged"], "suggested"] == "other").all()
    assert check["text"].tolist() == [texts[i] for i in check["id"]]
    assert check["probability"].is_monotonic_increasing, "the least probable label first"
    after = session.labels.sort_values("id").reset_index(drop=True)
    assert after[["id", "label"]].equals(before[["id", "label"]])
    session.close()
