"""AnchorAL's method: anchors per class (``anchors``), the pool filters that cut a subpool from
them (``filters``: AnchorAL, random subsampling, SEALS, none) and the strategies that pick a
batch from it (``strategies``).

May import: ``engine.pool``, ``engine.search``, ``engine.vectors`` and ``errors``; not the
learners, which are its sibling.
"""
