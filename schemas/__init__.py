"""The one place where Talk2Face's data formats are defined.

`schemas` holds the record a converter yields (`FaceRecord`, plus `Filtered` and `Reject` for the
records that do not become samples), the text protocol that turns typed labels into attribute text
and back (`format_attributes` / `parse_attributes`), the layout of one WebDataset shard sample
(`ShardSample`), and the Arrow schema of the Parquet manifest. Converters, the Beam pipeline and the
model all import these definitions; none of them defines a format of its own.
"""

from schemas.manifest import MANIFEST_SCHEMA, manifest_table, read_manifest, write_manifest
from schemas.records import (
    KINDS,
    SPLITS,
    Box,
    FaceRecord,
    Filtered,
    LabelValue,
    Reasons,
    Reject,
    Text,
    attribute_record,
    most_held_out,
    stable_split,
)
from schemas.sample import SampleError, ShardSample, SourceRef, TextEntry, TokenizerInfo, sample_key
from schemas.text import (
    TextProtocolError,
    canonical,
    format_attributes,
    normalize_caption,
    parse_attributes,
)

__all__ = [
    "KINDS",
    "MANIFEST_SCHEMA",
    "SPLITS",
    "Box",
    "FaceRecord",
    "Filtered",
    "LabelValue",
    "Reasons",
    "Reject",
    "SampleError",
    "ShardSample",
    "TokenizerInfo",
    "SourceRef",
    "Text",
    "TextEntry",
    "TextProtocolError",
    "attribute_record",
    "canonical",
    "format_attributes",
    "manifest_table",
    "most_held_out",
    "normalize_caption",
    "parse_attributes",
    "read_manifest",
    "sample_key",
    "stable_split",
    "write_manifest",
]
