"""The corpus side of Talk2Face: composite transforms that wire converters, face loading and the tokenizer.

`BuildCorpus` reads every dataset's records with its converter (inside a DoFn), loads and cuts
each face (`model.tokenizers.faces`), deduplicates faces by the content hash of their pixels, tokenises each
unique face once with the VQGAN (reusing a token cache keyed by face and tokenizer), and writes
WebDataset tar shards, a Parquet manifest, rejects logs and stats.json, then checks that every
record read is written, filtered or rejected. Its steps (`ReadRecords`, `LoadFaces`,
`DedupeByContent`, `AssignShards`, `TokenizeFaces`, `WriteShards`, `WriteManifest`, `WriteRejects`,
`WriteStats`) only wire library code; file formats live in `schemas`, dataset formats in
`converters`, face preprocessing and tokenizers in `model`. Its Beam modules run on the
DirectRunner, the DaskRunner, and Dataflow, Spark or Flink.

Besides the build: `pipeline.inspect` (``talk2face inspect``, which reads a finished build) and
`pipeline.cli` (the ``talk2face`` dispatcher) never import Beam, so the names below are loaded lazily.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names for type checkers; at run time __getattr__ imports them on first use
    from pipeline.build import BuildCorpus, BuildResult, run_build
    from pipeline.config import BuildConfig, DatasetSpec, TokenizerSpec, resolve_datasets
    from pipeline.report import AccountingError
    from pipeline.verify import BuildReport, verify_build

_EXPORTS = {
    "AccountingError": "pipeline.report",
    "BuildConfig": "pipeline.config",
    "BuildCorpus": "pipeline.build",
    "BuildReport": "pipeline.verify",
    "BuildResult": "pipeline.build",
    "DatasetSpec": "pipeline.config",
    "TokenizerSpec": "pipeline.config",
    "resolve_datasets": "pipeline.config",
    "run_build": "pipeline.build",
    "verify_build": "pipeline.verify",
}

__all__ = [
    "AccountingError",
    "BuildConfig",
    "BuildCorpus",
    "BuildReport",
    "BuildResult",
    "DatasetSpec",
    "TokenizerSpec",
    "resolve_datasets",
    "run_build",
    "verify_build",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
