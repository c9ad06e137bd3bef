"""Driving a notebook in JupyterLab or Notebook 7 from Playwright: open, run all, run code and
read its output.

The server runs with ``expose_app_in_browser``, so ``window.jupyterapp`` runs the app's own
commands; kernel state is read by running a cell that prints JSON, as a person would check it.
Notebook 7 is built from JupyterLab's packages: its shell's current widget is the open notebook's
panel and it has the same ``notebook:*`` commands, so everything here works in both. What differs
is the address of a notebook: ``/notebooks/<path>`` in Notebook 7, one notebook a page, with no
workspaces.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import nbformat
import numpy as np

KERNEL_IDLE = "() => { const p = window.jupyterapp?.shell.currentWidget; return !!p?.sessionContext?.session?.kernel && p.sessionContext.session.kernel.status === 'idle'; }"

#: The curves' traces on the page, by uid: each trace's y values.
CURVES_JS = """() => {
    const plot = document.querySelector('.aw-root .aw-curves-plot');
    const out = {};
    for (const t of plot?.data ?? []) out[t.uid] = Array.from(t.y ?? []);
    return out;
}"""


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells, plus an empty last cell that :func:`run_code` uses."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells] + [nbformat.v4.new_code_cell("")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def copy_with_scratch_cell(source: Path, path: Path) -> None:
    """Copy a notebook, adding the empty last cell that :func:`run_code` uses."""
    nb = nbformat.read(source, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(""))
    nbformat.write(nb, path)


def open_notebook(page, server, name: str, timeout: float = 120_000) -> None:
    """Open ``name`` on ``server`` (JupyterLab or Notebook 7); wait for its cells and an idle kernel."""
    if server.app == "lab":  # a workspace of its own, reset: only this notebook open, whatever ran before
        page.goto(server.url(f"lab/workspaces/{Path(name).stem}/tree/{name}", "reset"))
    else:
        page.goto(server.url(f"notebooks/{name}"))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout)
    page.wait_for_function(KERNEL_IDLE, timeout=timeout)


def front_end_own_error(server, error) -> bool:
    """Notebook 7 (7.6) throws this from its own bundle on opening any notebook, one of ``1+1``
    too: not the widget's."""
    return (
        server.app == "notebook"
        and str(error) == "Cannot read properties of undefined (reading 'schema')"
        and "/static/notebook/" in (error.stack or "")
    )


def app_name(page) -> str:
    """The front end's name as it reports it: "JupyterLab" or "Jupyter Notebook"."""
    return page.evaluate("() => window.jupyterapp.name")


def run_all(page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def run_code(page, code: str, timeout: float = 120_000) -> str:
    """Put ``code`` in the notebook's last cell, run it, and return what it printed."""
    nonce = secrets.token_hex(4)
    source = f"{code}\nprint('END-{nonce}')"
    page.evaluate(
        """async (source) => {
            const app = window.jupyterapp;
            const nb = app.shell.currentWidget.content;
            const last = nb.widgets.length - 1;
            nb.widgets[last].model.sharedModel.setSource(source);
            nb.activeCellIndex = last;
            await app.commands.execute('notebook:run-cell');
        }""",
        source,
    )
    output = ".jp-NotebookPanel .jp-Cell:last-child .jp-OutputArea"
    page.wait_for_function(
        "([sel, nonce]) => { const t = document.querySelector(sel)?.innerText ?? '';"
        " return t.includes('END-' + nonce) || t.includes('Traceback'); }",
        arg=[output, nonce],
        timeout=timeout,
    )
    text = page.inner_text(output)
    if "Traceback" in text:
        raise AssertionError(f"the probe cell failed:\n{text}")
    return text.split(f"END-{nonce}")[0].strip()


def probe(page, expression: str) -> object:
    """The JSON value of a Python expression, evaluated in the notebook's kernel."""
    text = run_code(page, f"import json as _json\nprint('JSON', _json.dumps({expression}, default=str))")
    line = [ln for ln in text.splitlines() if ln.startswith("JSON ")]
    assert line, f"no JSON in the probe's output:\n{text}"
    return json.loads(line[-1][5:])


def cell_summary(page) -> list[str]:
    """The notebook's cells as their types, to check that no shortcut changed the notebook."""
    return page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.type)")


def draw_lasso(page, plot, fraction: float, pause_ms: int = 0) -> tuple[float, float, float]:
    """Shift and drag a circle on ``plot`` (a map's locator), of radius ``fraction`` of its smaller
    side, closed where it began as a hand draws it (the mouse-up there must not undo the lasso);
    ``pause_ms`` after each corner. Returns the circle's centre and radius, in page pixels."""
    box = plot.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    r = min(box["width"], box["height"]) * fraction
    polygon = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 24)]
    page.keyboard.down("Shift")
    page.mouse.move(*polygon[0])
    page.mouse.down()
    for x, y in polygon[1:]:
        page.mouse.move(x, y, steps=2)
        if pause_ms:
            page.wait_for_timeout(pause_ms)
    page.mouse.up()
    page.keyboard.up("Shift")
    return cx, cy, r
