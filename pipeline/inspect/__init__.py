"""The corpus inspector behind ``talk2face inspect OUT``: it reads a finished build, never builds one.

One module per role: `corpus` (opening OUT, the manifest, stats.json, streaming shards), `lengths`
(text lengths in WordPiece tokens), `labels` (label distributions), `codebook` (VQGAN code usage from
the token cache or the shards), `summary` (the summary and its tables), `leaks` (the leak-free split
counts and OUT/leaks.jsonl's clusters), `samples` (showing samples), `sheet` (the contact sheet),
`validate` (the one validator: the quick check after a build and the full ``--validate`` scan),
`report` (the HTML report) and `cli` (the ``inspect`` command line). It imports neither Apache Beam
nor torch; the model is used only to decode tokens and count WordPiece tokens. Formats come from
schemas/ (shard.py, stats.py, cache.py, manifest.py).
"""
