"""Nearest-neighbour search over the pool's embeddings: exact search in bounded blocks
(``exact``, the default), choosing and building an index (``index``), the recall-checked HNSW
graph (``hnsw``) and the FAISS and Milvus backends (``backends``).

May import: ``engine.vectors`` and ``errors``.
"""
