"""The labelling session without a widget: building one from texts, the batch on screen and
its drafts, the background worker, search by meaning, what a card shows, the commands a front
end sends.

May import: ``engine``, ``views``, ``data``, ``protocol`` and ``errors``. Never anywidget or
traitlets: ``widget.py`` is the only module that knows the front end's framework.
"""
