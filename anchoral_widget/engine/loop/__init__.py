"""The loop and its log: :class:`~.active.ActiveLoop` (label, skip, undo, propose), its records
(``records``), the append-only label store and its replay (``store``), labels in and out of
files (``labels_io``), oracle runs (``oracle``) and moving a loop to new embeddings
(``switch``).

May import: everything else of the engine.
"""
