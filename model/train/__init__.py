"""Training: which shards to read (`shards`), how a (face, text) pair becomes one of the four task
sequences (`sequences`), the deterministic, resumable loader of balanced batches over shards read
with schemas/shard.py's streaming reader (`loader`), and the trainer's single loop with checkpoint
and exact resume (`trainer`, the ``talk2face train`` command), whose CSV and TensorBoard logs
`logs` writes.
"""
