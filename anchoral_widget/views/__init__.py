"""What the loop did, drawn: the 2-D projection of the pool, the map's layers and traces, the
live curves, and what the widget sends of them. Pure functions of the loop's records, except
the projection's cached background fit.

May import: ``engine``, ``data`` and ``errors``. Never the session, replay or widget.
"""
