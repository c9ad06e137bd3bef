"""The engine: AnchorAL's loop with no UI.

A pool (texts, embeddings, fingerprint, index), encoders, anchors, pool filters, strategies,
learners, the loop and its records, the SQLite store, metrics and oracle runs.

May import: ``anchoral_widget.errors`` and ``data``. Nothing above it (views, session, replay,
widget), and never anywidget or traitlets.
"""
