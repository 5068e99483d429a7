"""Evaluation on the paper's benchmarks (tables 2-4).

`metrics` holds the pure scores (age MAE, accuracy, caption metrics, FID and IS from feature
matrices), `inception` the feature extractor a user supplies for FID/IS, `benchmarks` the tasks
(which dataset, which split, which questions) and their runs, and `cli` is ``talk2face evaluate``.
"""
