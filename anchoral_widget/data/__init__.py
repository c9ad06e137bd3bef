"""Texts and labels to label or simulate on: bundled real datasets, the user's own tables
(CSV / parquet / JSONL / DataFrame), cleaning and sampling, and the 2-D toy pool.

May import: ``anchoral_widget.errors`` only. It knows nothing of the loop.
"""

from .datasets import load_dataset

__all__ = ["load_dataset"]
