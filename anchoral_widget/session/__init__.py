"""The labelling session without a widget: starting one, in order (the checks made at once in
``plan``, then ``startup``: the loop built at once or in the background, its progress in
``progress``, the encoders in ``encoding``), its face (``labeller``) and its parts: the loop
behind one lock (``guarded``), what the screen shows and its drafts (``screen``, ``drafts``), the
background worker (``worker``), the next batch and its trainer (``proposer``, ``trainer``), the
map's messages (``mapchannel``), selections from the map (``selection``), search by meaning
(``search``), the commands a front end sends (``commands``) and what a card shows (``cards``);
what work behind the person may do to it (``access``), and the encoder upgrade (``upgrade``).

May import: ``engine``, ``views``, ``data``, ``protocol`` and ``errors``. Never anywidget or
traitlets: ``widget.py`` is the only module that knows the front end's framework.
"""
