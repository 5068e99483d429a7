"""The Arrow schema of the Parquet manifest: one row per (sample, text).

It answers "which shard holds X" and per-dataset counts without opening a tar (DESIGN.md 3.4).
``labels`` is the dataset's typed labels as a JSON string, so one schema serves all 13 datasets.
``photo_id`` and ``person_id`` (`schemas.records.FaceRecord`) are null when the dataset does not
say; filter on ``person_id`` to make person-disjoint splits. A manifest written before these two
columns existed reads back with them null.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("shard", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("labels", pa.string(), nullable=False),
        pa.field("photo_id", pa.string(), nullable=True),
        pa.field("person_id", pa.string(), nullable=True),
    ]
)

COLUMNS = tuple(MANIFEST_SCHEMA.names)
OPTIONAL_COLUMNS = ("photo_id", "person_id")  # None allowed


def manifest_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Build a manifest table from row dicts; a missing column or a None raises with the column name.

    The `OPTIONAL_COLUMNS` may be absent or None (null).
    """
    columns: dict[str, list[str | None]] = {name: [] for name in COLUMNS}
    for i, row in enumerate(rows):
        for name in COLUMNS:
            value = row.get(name)
            if value is None and name in OPTIONAL_COLUMNS:
                columns[name].append(None)
                continue
            if not isinstance(value, str):
                raise ValueError(f"manifest row {i}: column {name!r} must be a string, got {value!r}")
            columns[name].append(value)
    return pa.table(columns, schema=MANIFEST_SCHEMA)


def write_manifest(table: pa.Table, where: Any, filesystem: Any = None) -> None:
    """Write a manifest table as Parquet (zstd, deterministic: no timestamps in the file)."""
    if not table.schema.equals(MANIFEST_SCHEMA):
        raise ValueError(f"manifest schema mismatch:\n{table.schema}\nexpected:\n{MANIFEST_SCHEMA}")
    pq.write_table(table, where, filesystem=filesystem, compression="zstd", write_statistics=True)


def read_manifest(where: Any, filesystem: Any = None) -> pa.Table:
    """Read one Parquet file or a folder of them, checked against the manifest schema."""
    table = pq.read_table(where, filesystem=filesystem, schema=MANIFEST_SCHEMA)
    return table
