"""Runs without a person: simulated runs and their JSON traces, the path-dependence comparison
(``aw.compare``) and the ``anchoral`` command.

May import: ``engine``, ``views``, ``data`` and ``errors``. Not the session or the widget.
"""
