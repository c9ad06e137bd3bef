import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full")


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # Quickstart in marimo: label a rare class with AnchorAL

    The same session as `01_quickstart.ipynb`, as a marimo notebook: `marimo edit
    notebooks/01_quickstart_marimo.py` (or `marimo run` for the app view).

    The pool: the titles of ICD-10-CM diagnosis codes, all of them (58k). The rare class: **eye**
    (chapter 7, diseases of the eye and adnexa), 1% of the pool. Everything else is **other**.
    Titles about the eye from other chapters (injuries, diabetes, tumours, malformations) are
    **other** here: label by the chapter.

    AnchorAL picks each batch from a small subpool: the unlabelled texts nearest to a few labelled
    *anchors* of every class. Rare examples you label become anchors, so their neighbours show up in
    the next batch. Everything runs on this machine: the encoder ships with the package.
    """)
    return


@app.cell
def _():
    import marimo as mo

    import anchoral_widget as aw
    from anchoral_widget.data.datasets import load_dataset

    data = load_dataset("icd10-eye", seed=0)  # the whole pool, and a held-out test split
    return aw, data, mo


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Label

    `aw.Labeller(...)` returns at once and prepares the pool in the background, with its progress
    on screen. Nothing is labelled yet, so it starts *cold*: search for `disorders of the eye and
    eyelid`, click **eye** on a result about the eye and **other** on one that is not. A batch of 25
    cards arrives; click on the widget and use the keys (`?` lists them): `1` other, `2` eye,
    `Enter` sends the batch once every card has an answer.

    `mo.ui.anywidget` shows the widget in marimo. Its labels live in the kernel, not in marimo's
    reactive graph: read them with `w.labels` in a cell you run again.
    """)
    return


@app.cell
def _(aw, data, mo):
    w = aw.Labeller(data.texts, classes=["other", "eye"], minority=["eye"], encoder="fast", budget=200)
    labeller = mo.ui.anywidget(w)
    labeller
    return (w,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Your labels

    Every label is committed to a SQLite file, `w.store`, in `anchoral-labels/` beside where marimo
    runs, before the widget shows it as saved: stop the notebook and open it again, and the widget
    picks up where you stopped. Run the next cell again to see the labels so far.
    """)
    return


@app.cell
def _(mo):
    refresh = mo.ui.button(label="show my labels")
    refresh
    return (refresh,)


@app.cell
def _(data, mo, refresh, w):
    refresh  # runs again on each click
    labels = w.labels
    truth = data.labels[labels.id.to_numpy()]
    found = f"{len(labels)} labels; {(truth == 'eye').sum()} of the pool's {(data.labels == 'eye').sum()} eye titles found"
    mo.vstack([mo.md(found), labels.tail()])
    return


if __name__ == "__main__":
    app.run()
