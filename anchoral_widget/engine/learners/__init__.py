"""What is fitted on the labels and how good it is: the learner contract and the default
embedding classifier (``learner``), the fine-tuned transformer (``transformer``), the scores
(``metrics``) and the cross-validated estimates a session shows before a test set exists
(``estimates``).

May import: ``engine.pool``, ``engine.search``, ``engine.vectors`` and ``errors``; not the
method, which is its sibling.
"""
