"""The comparison's widgets (ipywidgets, around one plotly FigureWidget each): the replay, every
run's map and the progress curves moved together by an iteration slider (a teacher's view),
and the inspector, one run's map whose points tell all about themselves on hover and click (a
researcher's view). ``Comparison.replay`` and ``Comparison.inspect`` are these functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..views.styles import map_layout
from .replayfigure import replay_figure, run_map_title, run_map_traces

if TYPE_CHECKING:
    from .comparison import Comparison

#: A new view of a figure is asked to fit its output area at once and again these many seconds
#: later (a busy browser may put the view on the page after the first answer came back).
FIT_AGAIN_SECONDS = (1.0, 4.0)
#: What the inspector's details say before a click.
INSPECT_HINT = "<i>Click a point on the map: its details show here.</i>"


def replay(comparison: Comparison, t: int = 0, *, height: int = 780):
    """``Comparison.replay``: the iteration controls over one FigureWidget that holds every
    run's map and the progress curves."""
    import ipywidgets as widgets

    fig = _figure_widget(replay_figure(comparison, t, height=height))
    sizes = [len(run_map_traces(comparison, name, t)) for name in comparison.filters]
    controls, slider = _iteration_controls(t, comparison.iterations - 1)

    def show(change):
        t = change["new"]
        with fig.batch_update():
            start = 0
            for i, name in enumerate(comparison.filters):
                # FigureWidget renames uids, so traces are matched by position; the pool
                # sample (first) never changes.
                _refill(fig.data[start + 1 : start + sizes[i]], run_map_traces(comparison, name, t)[1:])
                fig.layout.annotations[i].text = run_map_title(comparison, name, t)
                start += sizes[i]
            for shape in fig.layout.shapes:
                shape.update(x0=t, x1=t)

    slider.observe(show, names="value")
    return widgets.VBox([controls, fig], layout=widgets.Layout(width="100%"))


def inspect(comparison: Comparison, name: str | None = None, t: int | None = None, *, height: int = 760):
    """``Comparison.inspect``: the iteration controls over run ``name``'s map, and under it
    the details of the point last clicked."""
    import ipywidgets as widgets

    name = comparison.filters[0] if name is None else name
    run = comparison.run(name)
    last = len(run.loop.history) - 1
    t = last if t is None else comparison.clamp(name, t)
    fig = _figure_widget(_inspect_figure(comparison, name, t, height))
    controls, slider = _iteration_controls(t, last)
    details = widgets.HTML(value=INSPECT_HINT, layout=widgets.Layout(width="100%"))
    details.add_class("aw-inspect-details")

    def clicked(trace, points, _state):
        if not points.point_inds:
            return
        item = int(trace.customdata[points.point_inds[0]])
        details.value = _details_html(comparison.point(name, slider.value, item))

    for trace in fig.data:
        trace.on_click(clicked)

    def show(change):
        t = change["new"]
        with fig.batch_update():
            _refill(fig.data[1:], run_map_traces(comparison, name, t, uncertainty=True)[1:])
            fig.layout.title.text = _inspect_title(comparison, name, t)
        details.value = INSPECT_HINT

    slider.observe(show, names="value")
    box = widgets.VBox([controls, fig, details], layout=widgets.Layout(width="100%"))
    box.add_class("aw-inspect")
    return box


def _inspect_title(comparison: Comparison, name: str, t: int) -> str:
    record = comparison.run(name).loop.history[comparison.clamp(name, t)]
    sub = f"subpool {len(record.subpool_ids):,}" if record.subpool_ids else "no subpool (the whole pool)"
    return (
        f"{name}, iteration {comparison.clamp(name, t)}: {len(record.anchor_ids)} anchors, {sub}, "
        f"batch {len(record.batch_ids)}"
    )


def _inspect_figure(comparison: Comparison, name: str, t: int, height: int):
    import plotly.graph_objects as go

    fig = go.Figure(data=run_map_traces(comparison, name, t, uncertainty=True))
    fig.update_layout(map_layout(title=_inspect_title(comparison, name, t), height=height))
    fig.update_layout(autosize=True, title={"font": {"size": 14}})
    return fig


def _figure_widget(figure):
    """A plotly FigureWidget as wide as its output area, also after a window resize.

    plotly's widget draws its plot before the output area has put it on the page, when it has
    no width yet, so at plotly's default 700 px. Layout ``autosize`` and the ``responsive``
    config make it follow window resizes; for the first drawing, each time a view reports its
    traces after drawing (the first report, or a report of an edit already reported: another
    view, drawn later), the kernel asks it to fit its container, at once and again a few
    seconds later, in case the answer came back before the view was on the page. (The kernel reads
    the report once it is free: after "run all", once the last cell has run. Asking earlier,
    from a timer, was measured to leave a plot empty when the request came while it drew.)
    After a window resize the view reports plotly's own fit; it may have measured the output
    area before JupyterLab laid it out anew (a busy browser), so the kernel asks again a moment
    later too."""
    import plotly.graph_objects as go

    widget = go.FigureWidget(figure)
    widget.layout.autosize = True
    widget._config = {**widget._config, "responsive": True}
    reported: set = set()

    def fit_container() -> None:
        widget._send_relayout_msg({"autosize": True})

    def fit(change) -> None:
        message = change["new"]
        if not message:
            return
        edit = message.get("trace_edit_id")
        if not reported or edit in reported:
            fit_container()
            for seconds in FIT_AGAIN_SECONDS:
                _later(seconds, fit_container)
        reported.add(edit)

    def refit(change) -> None:
        message = change["new"]
        if message and "autosize" in (message.get("relayout_data") or {}):  # plotly's resize, not a zoom
            for seconds in FIT_AGAIN_SECONDS:
                _later(seconds, fit_container)

    widget.observe(fit, names="_js2py_traceDeltas")
    widget.observe(refit, names="_js2py_relayout")
    return widget


def _later(seconds: float, job) -> None:
    import threading

    timer = threading.Timer(seconds, job)
    timer.daemon = True
    timer.start()


def _refill(traces, fresh) -> None:
    """Give the figure's traces (matched by position) the points of ``fresh``."""
    for trace, new in zip(traces, fresh):
        trace.update(
            x=new["x"],
            y=new["y"],
            customdata=new["customdata"],
            hovertext=new.get("hovertext"),
            marker_color=new["marker"]["color"],
        )


def _iteration_controls(t: int, last: int):
    """Play, the iteration slider, and one-step buttons: ``(box, slider)``.

    The play button moves the slider while it plays; stop only pauses. (ipywidgets' Play
    sends its value back to the start on stop, so it is linked here, not in the browser: its
    value moves the slider only while playing, and is put back otherwise.)"""
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=t, min=0, max=last, description="iteration", continuous_update=False)
    slider.layout.width = "420px"
    play = widgets.Play(value=t, min=0, max=last, interval=900, show_repeat=False, description="play")
    back = widgets.Button(description="◀", tooltip="previous iteration", layout=widgets.Layout(width="40px"))
    forward = widgets.Button(description="▶", tooltip="next iteration", layout=widgets.Layout(width="40px"))

    def from_play(change):
        if play.playing:
            slider.value = change["new"]
        elif change["new"] != slider.value:
            play.value = slider.value  # stop: stay where the slider is

    def from_slider(change):
        if play.value != change["new"]:
            play.value = change["new"]

    play.observe(from_play, names="value")
    slider.observe(from_slider, names="value")
    back.on_click(lambda _: setattr(slider, "value", max(slider.min, slider.value - 1)))
    forward.on_click(lambda _: setattr(slider, "value", min(slider.max, slider.value + 1)))
    box = widgets.HBox([play, slider, back, forward])
    box.add_class("aw-iteration-controls")
    return box, slider


def _details_html(point: dict) -> str:
    """A clicked point's details as a small table (texts escaped)."""
    import html

    rows = []
    for key, value in point.items():
        if key == "layers":
            value = ", ".join(value)
        rows.append(
            f"<tr><th style='text-align:left;padding-right:1em;vertical-align:top'>{html.escape(str(key))}</th>"
            f"<td style='text-align:left'>{html.escape(str(value))}</td></tr>"
        )
    return "<table class='aw-point'>" + "".join(rows) + "</table>"
