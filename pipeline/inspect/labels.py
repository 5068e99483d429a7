"""Label distributions: per dataset and label key, records per value (numbers in round buckets)."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.inspect.corpus import ManifestCodes, dictionary_codes, manifest_codes


def label_distributions(table: pa.Table, top: int = 10, codes: ManifestCodes | None = None) -> dict[str, dict[str, Any]]:
    """Value distributions of each dataset's labels (the manifest's labels JSON), counted in records.

    Booleans count true/false; numbers with few distinct values count each value, others fall in
    about ten equal buckets of a round width (ages 0-9, 10-19, ...); strings keep the `top` most
    common values and sum the rest as ``(other)``. A record without the key counts as ``(missing)``.
    Each distinct labels document of a dataset is parsed once.
    """
    codes = codes if codes is not None else manifest_codes(table)
    if not len(codes.key):
        return {}
    doc, docs = dictionary_codes(table["labels"])
    per_record = np.zeros(codes.sizes["record"], dtype=np.int64)  # a record's rows share its labels
    per_record[codes.record] = codes.dataset * len(docs) + doc
    pair, counts = np.unique(per_record, return_counts=True)
    out: dict[str, dict[str, Any]] = {}
    for d, name in sorted(enumerate(codes.names["dataset"]), key=lambda item: item[1]):
        mine = (pair // len(docs)) == d
        if not mine.any():
            continue
        texts = [text or "{}" for text in docs.take(pa.array(pair[mine] % len(docs))).to_pylist()]
        weights = counts[mine]
        columns = _parse_label_docs(texts, name)
        total = int(weights.sum())
        out[name] = {key: _distribution(values, weights, total, top) for key, values in sorted(columns.items())}
    return out


def _parse_label_docs(docs: list[str], dataset: str) -> dict[str, pa.Array]:
    """Label JSON documents -> {key: Arrow array of values, null where absent}, via Arrow's JSON reader."""
    import pyarrow.json as paj

    try:
        parsed = paj.read_json(io.BytesIO("\n".join(docs).encode("utf-8")))
        if parsed.num_rows != len(docs):
            raise ValueError("row count differs")
        if parsed.num_columns == 1 and parsed.column_names[0] == dataset and pa.types.is_struct(parsed.schema[0].type):
            struct = parsed.column(0).combine_chunks()
            return {struct.type.field(i).name: struct.field(i) for i in range(struct.type.num_fields)}
        return {name: parsed[name].combine_chunks() for name in parsed.column_names}
    except (pa.ArrowException, ValueError):  # mixed types under one key, or odd documents: parse in Python
        columns: dict[str, list[Any]] = {}
        for i, doc in enumerate(docs):
            try:
                value = json.loads(doc)
            except json.JSONDecodeError:
                value = {"(unreadable labels)": doc[:40]}
            if isinstance(value, dict) and list(value) == [dataset] and isinstance(value[dataset], dict):
                value = value[dataset]
            if not isinstance(value, dict):
                value = {"(not an object)": str(value)[:40]}
            for key, v in value.items():
                columns.setdefault(str(key), [None] * len(docs))[i] = v
        out = {}
        for key, values in columns.items():
            try:
                out[key] = pa.array(values)
            except (pa.ArrowException, TypeError):  # e.g. numbers and strings under one key: count as strings
                out[key] = pa.array([v if v is None or isinstance(v, str) else json.dumps(v) for v in values], pa.string())
        return out


def _distribution(column: pa.Array, weights: np.ndarray, total: int, top: int) -> dict[str, Any]:
    valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
    present, w = column.filter(pa.array(valid)), weights[valid]
    missing = total - int(w.sum())
    entry: dict[str, Any] = {"type": "string", "records": total - missing, "missing": missing}
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        numbers = present.to_numpy(zero_copy_only=False).astype(np.float64)
        distinct = np.unique(numbers)
        integer = bool(np.all(np.mod(distinct, 1) == 0))
        entry["type"] = "int" if integer else "float"
        entry["distinct"] = int(len(distinct))
        pairs = _bucket_numbers(numbers, w, distinct, integer) if len(numbers) else []
        if len(numbers):
            entry["min"], entry["max"] = _plain(distinct[0], integer), _plain(distinct[-1], integer)
    else:
        if pa.types.is_boolean(kind):
            entry["type"] = "bool"
        elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):  # lists, objects: count their JSON
            present = pa.array([json.dumps(v, sort_keys=True) for v in present.to_pylist()], pa.string())
        grouped = pa.table({"v": present, "w": pa.array(w, pa.int64())}).group_by("v").aggregate([("w", "sum")])
        values = grouped["v"].to_pylist()
        sums = grouped["w_sum"].to_pylist()
        pairs = [[str(v).lower() if isinstance(v, bool) else v, int(n)] for v, n in zip(values, sums)]
        pairs.sort(key=(lambda p: p[0]) if entry["type"] == "bool" else (lambda p: (-p[1], p[0])))
        entry["distinct"] = len(pairs)
        if len(pairs) > top:
            entry["other"] = int(sum(n for _, n in pairs[top:]))
            pairs = pairs[:top]
    entry["values"] = pairs
    return entry


def _plain(x: float, integer: bool) -> int | float:
    return int(x) if integer else round(float(x), 4)


def _bucket_numbers(
    numbers: np.ndarray, weights: np.ndarray, distinct: np.ndarray, integer: bool, bins: int = 10
) -> list[list[Any]]:
    """[label, count] per value when there are at most 12 values, else per bucket of a round width."""
    if len(distinct) <= 12:
        return [[str(int(v)) if integer else f"{v:.2f}", int(weights[numbers == v].sum())] for v in distinct]
    lo, hi = float(distinct[0]), float(distinct[-1])
    raw = (hi - lo) / bins
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    if integer:
        step = max(1, round(step))
    start = math.floor(lo / step) * step
    count = int((hi - start) // step) + 1
    which = np.clip(np.floor((numbers - start) / step).astype(np.int64), 0, count - 1)
    sums = np.bincount(which, weights=weights, minlength=count)
    out = []
    for i in range(count):
        a, b = start + i * step, start + (i + 1) * step
        label = f"{int(a)}-{int(b) - 1}" if integer else f"{round(a, 10):g} to {round(b, 10):g}"
        out.append([label, int(sums[i])])
    return out

