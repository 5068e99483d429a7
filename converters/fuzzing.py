"""The fuzzing kit: hostile mutations of native annotation files, and independent counts of their entries.

A fuzz test (``tests/converters/test_fuzz.py``) writes a dataset's fake (`converters.fakes`), mutates
its annotation files with the strategies here, and checks that the converter either raises
`ConverterError` (only where the mutated file is unusable as a whole) or yields exactly one outcome
per entry, where the entries are counted here without the converter's code:

* a line file's entries are its non-blank lines below its header lines, lines as Python's text mode
  reads them (``\\n``, ``\\r\\n`` or ``\\r`` end a line); a line file that is not UTF-8 is unusable;
* a JSON file's entries are the items of its top-level array or object (a repeated key counted twice);
* a ``.mat`` file's entries are the rows it was written with; a pickle changes no count.

Each mutation returns new bytes and a short name of what it did (shown when an example fails).
"""

from __future__ import annotations

import codecs
import io
import json
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.io
from hypothesis import strategies as st

Mutation = tuple[bytes, str]

HOSTILE_TOKENS: tuple[bytes, ...] = (
    b"", b"nan", b"NaN", b"-nan", b"inf", b"-inf", b"Infinity", b"1e309", b"-1e309", b"9" * 40, b"9" * 5000,
    b"-1", b"0", b"-0", b"1.5", b"0x10", b"1_000", b"\xff\xfe", b"\x00", b"\xef\xbb\xbf", b'"', b"'", b",",
    b"\t", b";", "é".encode(), "\u2028".encode(), "\x85".encode(), b"\x1c", "٣".encode(), b"\x0b",
    b"../../etc/passwd", b"Thumbs.db", b"-", b"./", b"\\",
)
DELIMITERS: tuple[bytes, ...] = (b" ", b"  ", b"\t", b",", b";", b"|")


@dataclass(frozen=True)
class LineFile:
    """A text file of one entry per line below `header` header lines; `strict`: not UTF-8 makes it unusable."""

    rel: str
    header: int = 0
    strict: bool = True
    csv: bool = False  # a line of empty comma-separated fields is blank (FairFace)
    header_required: str = ""  # the start of a header line that must come first, else the file is unusable


def text_lines(data: bytes) -> list[str] | None:
    """The lines of a UTF-8 file as Python's text mode splits them (BOM dropped), or None when not UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return io.StringIO(text, newline=None).read().split("\n")


def count_lines(data: bytes, spec: LineFile) -> int | None:
    """Entries of a line file: non-blank lines below the header; None when a strict file is not UTF-8."""
    if not spec.strict:
        data = data.decode("utf-8", "replace").encode()
    lines = text_lines(data)
    if lines is None:
        return None
    first = next((line for line in lines if line.strip()), "")
    if spec.header_required and not first.strip().lower().startswith(spec.header_required):
        return None
    body = lines[spec.header:] if spec.header else lines
    blank = (lambda s: not s.replace(",", "").strip()) if spec.csv else (lambda s: not s.strip())
    return sum(1 for line in body if not blank(line))


# -- line-file mutations ----------------------------------------------------------------------------
def _split(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


@st.composite
def line_mutation(draw: st.DrawFn, data: bytes, header: int = 0) -> Mutation:
    """One mutation of a line file: of one data line (truncated, fields added, dropped or replaced, other
    delimiters, bad bytes, garbage, repeated, deleted), or of the whole file (empty, BOM, CRLF, no end)."""
    lines = _split(data)
    body = list(range(header, len(lines)))
    kind = draw(st.sampled_from([
        "truncate", "delimiter", "add field", "drop field", "replace field", "bad byte", "garbage",
        "repeat line", "repeat header", "delete line", "empty file", "bom", "crlf", "no final newline",
        "long line",
    ]))
    if kind == "empty file":
        return b"", kind
    if kind == "bom":
        return (data if data.startswith(codecs.BOM_UTF8) else codecs.BOM_UTF8 + data), kind
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n"), kind
    if kind == "no final newline":
        return data.rstrip(b"\n"), kind
    if not body:
        return data + b"\n" + draw(st.binary(max_size=40)), "garbage line added"
    i = draw(st.sampled_from(body))
    line = lines[i]
    fields = line.split()
    if kind == "truncate":
        lines[i] = line[: draw(st.integers(0, max(len(line) - 1, 0)))]
    elif kind == "delimiter":
        old = b"," if b"," in line else b" "
        lines[i] = line.replace(old, draw(st.sampled_from(DELIMITERS)))
    elif kind == "add field":
        sep = b"," if b"," in line else b" "
        lines[i] = line + sep + draw(st.sampled_from(HOSTILE_TOKENS))
    elif kind == "drop field" and fields:
        comma = b"," if b"," in line else None
        parts = line.split(comma) if comma else fields
        del parts[draw(st.integers(0, len(parts) - 1))]
        lines[i] = (comma or b" ").join(parts)
    elif kind == "replace field" and fields:
        comma = b"," if b"," in line else None
        parts = line.split(comma) if comma else fields
        parts[draw(st.integers(0, len(parts) - 1))] = draw(st.sampled_from(HOSTILE_TOKENS))
        lines[i] = (comma or b" ").join(parts)
    elif kind == "bad byte":
        at = draw(st.integers(0, len(line)))
        lines[i] = line[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80"])) + line[at:]
    elif kind == "garbage":
        lines[i] = draw(st.binary(min_size=1, max_size=60).filter(lambda b: b"\n" not in b and b"\r" not in b))
    elif kind == "repeat line":
        lines.insert(i + 1, line)
    elif kind == "repeat header":
        lines.insert(max(i, header), lines[0] if lines else b"")
    elif kind == "delete line":
        del lines[i]
    elif kind == "long line":
        lines[i] = line + b" " + b"x" * 20000
    return _join(lines), f"{kind} at line {i + 1}"


# -- JSON mutations ---------------------------------------------------------------------------------
HOSTILE_VALUES: tuple[Any, ...] = (
    None, "", " ", "nan", "NaN", "null", float("nan"), float("inf"), -float("inf"), 10**400, -(10**400), 1e308,
    -1, 0, 1, 2, 255, 256, 1.5, True, False, [], {}, [1, 2], [1, 2, 3, 4], ["a", "b", "c"], [float("nan"), 1, 2],
    [1e308, 1e308, 1e308], [10**400, 0, 0], [-5, 300, 1], [[1, 2, 3]], "é\u2028\x00", "x" * 5000,
    {"nested": [1]}, "photo1/image0110.JPG", "../../etc/passwd",
)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode()


def _pairs(value: Any) -> Any:
    return value


def count_json(data: bytes) -> int | None:
    """Entries of a JSON file: items of its top-level array or object; None when it is not one of them."""
    lines = text_lines(data)
    if lines is None:
        return None
    try:
        top = json.loads("\n".join(lines), object_pairs_hook=lambda pairs: ("object", pairs))
    except (ValueError, RecursionError):
        return None
    if isinstance(top, list):
        return len(top)
    if isinstance(top, tuple) and top[0] == "object":
        return len(top[1])
    return None


@st.composite
def json_mutation(draw: st.DrawFn, data: bytes) -> Mutation:
    """One mutation of a JSON array or object of entries: a field (or the entry) replaced by a hostile
    value, a field deleted or added, an entry repeated or deleted; or the bytes cut, garbled or BOM'd."""
    kind = draw(st.sampled_from(["value", "value", "value", "delete field", "extra field", "entry",
                                 "repeat entry", "delete entry", "empty key", "truncate", "bad byte", "bom",
                                 "empty file", "not a container"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))], kind
    if kind == "bad byte":
        at = draw(st.integers(0, len(data)))
        return data[:at] + b"\xff" + data[at:], kind
    if kind == "bom":
        return (data if data.startswith(codecs.BOM_UTF8) else codecs.BOM_UTF8 + data), kind
    if kind == "empty file":
        return b"", kind
    if kind == "not a container":
        return dumps(draw(st.sampled_from([None, 1, "text", 1.5]))), kind
    try:
        top = json.loads(data.decode("utf-8-sig"))
    except ValueError:
        return data, "already not JSON"
    if not isinstance(top, dict | list):
        return data, "already not an array or object"
    items: list[tuple[str | None, Any]] = list(top.items()) if isinstance(top, dict) else [(None, v) for v in top]
    if not items:
        return data, "nothing to mutate"
    i = draw(st.integers(0, len(items) - 1))
    key, entry = items[i]
    value = draw(st.sampled_from(HOSTILE_VALUES))
    if kind == "value" and isinstance(entry, dict) and entry:
        field = draw(st.sampled_from(sorted(entry)))
        entry = dict(entry)
        if isinstance(entry[field], dict) and entry[field] and draw(st.booleans()):
            inner = dict(entry[field])
            inner[draw(st.sampled_from(sorted(inner)))] = value
            entry[field] = inner
        else:
            entry[field] = value
        items[i] = (key, entry)
    elif kind == "delete field" and isinstance(entry, dict) and entry:
        entry = dict(entry)
        del entry[draw(st.sampled_from(sorted(entry)))]
        items[i] = (key, entry)
    elif kind == "extra field" and isinstance(entry, dict):
        items[i] = (key, {**entry, draw(st.sampled_from(["extra", "", "overall_caption2"])): value})
    elif kind in ("entry", "value", "delete field", "extra field"):
        items[i] = (key, value)
    elif kind == "repeat entry":
        items.insert(i + 1, items[i])
    elif kind == "delete entry":
        del items[i]
    elif kind == "empty key" and key is not None:
        items[i] = (draw(st.sampled_from(["", " ", "\u2028", "9" * 5000 + ".jpg", "../x.jpg"])), entry)
    if isinstance(top, dict):  # written by hand so that a repeated key stays repeated
        body = ",\n".join(json.dumps(k, ensure_ascii=False) + ": " + json.dumps(v, ensure_ascii=False) for k, v in items)
        return ("{\n" + body + "\n}\n").encode(), f"{kind} at entry {i}"
    return dumps([v for _, v in items]), f"{kind} at entry {i}"


# -- pickles ----------------------------------------------------------------------------------------
class _Payload:
    """An object whose pickle would run code when loaded by a plain unpickler."""

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (print, ("pickle code ran",))


def hostile_pickle(names: list[str]) -> st.SearchStrategy[tuple[bytes, str, bool]]:
    """``(pickle bytes, what it holds, whether a reader must refuse it)``: plain name lists (valid) or other objects."""
    valid = st.sampled_from([
        (list(names), "the names"), (tuple(names), "a tuple of names"), ([n.encode() for n in names], "bytes names"),
        ([], "an empty list"), ([*names, "", "abc", "9" * 5000, "٣", "../../x"], "odd names"),
    ])
    invalid = st.sampled_from([
        ({"a": 1}, "a dict"), ({1, 2}, "a set"), (3, "an int"), (None, "None"), ([1, 2], "a list of ints"),
        ([[n] for n in names], "nested lists"), ([b"\xff\xfe"], "non-UTF-8 bytes"), ([_Payload()], "a code payload"),
        (np.arange(3), "a numpy array"), ("0", "a string"),
    ])

    @st.composite
    def build(draw: st.DrawFn) -> tuple[bytes, str, bool]:
        refuse = draw(st.booleans())
        value, what = draw(invalid if refuse else valid)
        return pickle.dumps(value, protocol=draw(st.integers(0, pickle.HIGHEST_PROTOCOL))), what, refuse

    return build()


@st.composite
def byte_damage(draw: st.DrawFn, data: bytes, flips: bool = True) -> Mutation:
    """Binary damage: cut, a byte flipped, garbage, empty (a reader may refuse the file, never crash).

    `flips` False for ``.mat`` files: a flipped size field makes scipy's C reader segfault (scipy 1.x,
    ``_mio5.read_var_array``), which no converter can catch.
    """
    kind = draw(st.sampled_from(["truncate", "flip", "garbage", "empty"] if flips else ["truncate", "garbage", "empty"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))], kind
    if kind == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:], f"flip at {at}"
    if kind == "garbage":
        return draw(st.binary(max_size=300)), kind
    return b"", "empty"


# -- caption files ----------------------------------------------------------------------------------
CAPTION_DAMAGE: tuple[bytes, ...] = (
    b"", b"\n\n \n", b"\xef\xbb\xbf", b"\xff\xfe\x00t\x00e\x00x\x00t", b"caf\xe9", b"\x00\x00\x00", "\u2028\x85".encode(),
    b"\r", b"A" * 100000, b"\xa3\xac\xa1\xa3",
)


@st.composite
def caption_mutation(draw: st.DrawFn, data: bytes) -> Mutation:
    """A caption file replaced, prefixed or extended with hostile bytes, or cut."""
    extra = draw(st.one_of(st.sampled_from(CAPTION_DAMAGE), st.binary(max_size=80)))
    kind = draw(st.sampled_from(["replace", "prefix", "append", "truncate"]))
    if kind == "replace":
        return extra, kind
    if kind == "prefix":
        return extra + data, kind
    if kind == "append":
        return data + extra, kind
    return data[: draw(st.integers(0, max(len(data) - 1, 0)))], kind


# -- .mat structs -----------------------------------------------------------------------------------
def cells(values: list[Any], shape: tuple[int, int]) -> np.ndarray:
    """A MATLAB cell array of `values` in `shape` (``(N, 1)`` or ``(1, N)``)."""
    out = np.empty(shape, dtype=object)
    for i, value in enumerate(values):
        out.flat[i] = value
    return out


NUMBER_VALUES: tuple[float, ...] = (float("nan"), float("inf"), -float("inf"), 1e300, -1e300, -5.0, 0.0, 1.5, 255.0,
                                    300.0, 2.0**63, 65535.0)


@st.composite
def numeric_column(draw: st.DrawFn, base: np.ndarray) -> tuple[np.ndarray, str]:
    """A numeric column with hostile values, in another dtype or shape (still numbers: rows, not the file, are bad)."""
    column = np.asarray(base, dtype=np.float64).reshape(-1).copy()
    for _ in range(draw(st.integers(1, 3))):
        column[draw(st.integers(0, len(column) - 1))] = draw(st.sampled_from(NUMBER_VALUES))
    dtype = draw(st.sampled_from(["float64", "float32", "int64", "uint8", "bool"]))
    if dtype != "float64":
        with np.errstate(all="ignore"):
            finite = np.where(np.isfinite(column), column, 0.0)
            info = np.iinfo(dtype) if dtype in ("int64", "uint8") else None
            if info is not None:
                finite = np.clip(finite, info.min, min(info.max, 2.0**62))
            column = finite.astype(dtype) if dtype != "float32" else column.astype(np.float32)
    shape = draw(st.sampled_from([(1, -1), (-1, 1)]))
    return column.reshape(shape), f"{dtype} with hostile values"


def name_cell_values() -> st.SearchStrategy[Any]:
    """What a file-name cell may hold in a damaged copy: no string, a number, nested cells, two strings."""
    return st.sampled_from([
        np.zeros((0,), dtype="<U1"), np.array([3.0]), np.array(["a.jpg", "b.jpg"]), 7,
        cells([np.array(["x.jpg"])], (1, 1)), np.array([""]), np.array(["\u2028.jpg"]), np.array(["../../etc/passwd"]),
        np.zeros((2, 2)),
    ])


def savemat_bytes(variables: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    scipy.io.savemat(out, variables)
    return out.getvalue()


def is_whole(value: float) -> bool:
    return math.isfinite(value) and value == round(value)
