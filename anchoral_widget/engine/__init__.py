"""The engine: AnchorAL's loop with no UI, in layers by concept (each imports only those below):

- ``loop``: the loop, its records, the label store, labels in and out, oracle runs;
- ``method`` (anchors, pool filters, strategies) and ``learners`` (the learner contract, the
  fine-tuned transformer, metrics, estimates), side by side;
- ``pool``: the items to label, built once, read by everything above;
- ``search``: exact search and the indexes;
- ``vectors``: texts to vectors, the encoders and their caches.

May import: ``anchoral_widget.errors`` and ``data``. Nothing above it (views, session, replay,
widget), and never anywidget or traitlets.
"""
