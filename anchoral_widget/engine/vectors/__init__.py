"""How texts become vectors and where they are kept: the texts' checks and identity
(``texts``), the kinds of encoder and their local builds (``encoder_kinds``), the runners that
execute them (``runners``), the encoder with its resumable cache (``encoder``), cache files and
sharded memory-mapped embeddings (``cachefiles``, ``shards``), encoding on a Ray cluster
(``distributed``), the embeddings' checks and fingerprint (``matrix``, ``fingerprint``).

May import: ``errors``. Nothing else of the engine.
"""
