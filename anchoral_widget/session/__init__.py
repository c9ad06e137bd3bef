"""The labelling session without a widget: building one from texts (``prepare``), its face
(``labeller``) and its parts: the loop behind one lock (``guarded``), what the screen shows and
its drafts (``screen``, ``drafts``), the background worker (``worker``), the map's messages
(``mapchannel``), the commands a front end sends (``commands``), search by meaning and what a
card shows.

May import: ``engine``, ``views``, ``data``, ``protocol`` and ``errors``. Never anywidget or
traitlets: ``widget.py`` is the only module that knows the front end's framework.
"""
