"""The Apache Beam side of Talk2Face: composite transforms that wire converters, face loading and the tokenizer.

`BuildCorpus` reads every dataset's records with its converter (inside a DoFn), loads and cuts
each face (`model.faces`), deduplicates faces by the content hash of their pixels, tokenises each
unique face once with the VQGAN (reusing a token cache keyed by face and tokenizer), and writes
WebDataset tar shards, a Parquet manifest, rejects logs and stats.json, then checks that every
record read is written, filtered or rejected. Its steps (`ReadRecords`, `LoadFaces`,
`DedupeByContent`, `AssignShards`, `TokenizeFaces`, `WriteShards`, `WriteManifest`, `WriteRejects`,
`WriteStats`) only wire library code; file formats live in `schemas`, dataset formats in
`converters`, face preprocessing and tokenizers in `model`. Only `beam_runner.py` (and the demo)
import this package; it runs on the DirectRunner, the DaskRunner, and Dataflow, Spark or Flink.
"""

from pipeline.build import BuildCorpus, BuildResult, run_build
from pipeline.config import BuildConfig, DatasetSpec, TokenizerSpec, resolve_datasets
from pipeline.report import AccountingError
from pipeline.verify import BuildReport, verify_build

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
