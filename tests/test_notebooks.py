"""Every notebook under notebooks/ runs top to bottom (small sizes when CI is set), with its
outputs stripped in git."""

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_quickstart.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_outputs_are_stripped(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, f"{path.name}: outputs in git"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")  # the notebooks' small sizes, also when run by hand
    nb = nbformat.read(path, as_version=4)
    # Run in a scratch folder, so that stores and caches a notebook writes stay out of the tree.
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


def test_the_quickstart_says_what_eye_means_with_examples_the_dataset_agrees_with():
    from anchoral_widget.data.datasets import load_dataset

    cells = json.loads(NOTEBOOKS[0].read_text())["cells"]
    text = next("".join(c["source"]) for c in cells if "".join(c["source"]).startswith('## What counts as "eye"'))
    rows = [line.split("|")[1:3] for line in text.splitlines() if line.startswith("| ")]
    examples = {title.strip(): label.strip() for title, label in rows if label.strip() in ("eye", "other")}
    data = load_dataset("icd10-eye", seed=0)
    texts, labels = list(data.texts) + list(data.test_texts), list(data.labels) + list(data.test_labels)
    where = {t: str(label) for t, label in zip(texts, labels, strict=True)}
    assert {"eye", "other"} == set(examples.values()) and len(examples) >= 6
    assert {title: where.get(title) for title in examples} == examples, "each example's label is the dataset's"
