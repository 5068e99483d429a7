"""The text protocol: typed labels <-> attribute text, and caption normalisation.

An attribute text is ``"<prefix> <key1>: <value1>; <key2>: <value2>;"`` (DESIGN.md 3.3), e.g.
``fairface age: 20-29; gender: male; race: east asian;``. Keys and string values are lower case,
underscores become spaces and runs of white space one space. Values are typed:

=========  ==================  =====================================
type       written as          example
=========  ==================  =====================================
bool       ``true``/``false``  ``smiling: true;``
int        plain digits        ``age: 37;``
float      exactly 2 decimals  ``valence: 0.50;``
str        as given            ``age: more than 70;``, ``lip color: rosy brown;``
=========  ==================  =====================================

``parse_attributes(format_attributes(prefix, labels)) == (prefix, labels)`` for canonical labels
(keys and strings already in the form above, floats already rounded to 2 decimals). The parser also
reads the spacing of the released Talk2Face code (``wiki age : 10 ;``), since spacing around the
punctuation carries no information, so model outputs can be read back into typed labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

LabelValue = bool | int | float | str

_SPACE = re.compile(r"\s+")
_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?\d+\.\d{2}")
_PREFIX = re.compile(r"[a-z0-9]+")


class TextProtocolError(ValueError):
    """A label or an attribute text that does not follow the text protocol (DESIGN.md 3.3)."""


def canonical(name: str) -> str:
    """Return a key or string value in protocol form: lower case, ``_`` -> space, one space."""
    return _SPACE.sub(" ", name.replace("_", " ")).strip().lower()


def _format_value(key: str, value: LabelValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TextProtocolError(f"label {key!r} is {value}; drop the key instead of writing a non-finite number")
        return f"{value:.2f}"
    if isinstance(value, str):
        text = canonical(value)
        if not text:
            raise TextProtocolError(f"label {key!r} has an empty value; drop the key instead")
        if ":" in text or ";" in text:
            raise TextProtocolError(f"label {key!r} value {value!r} contains ':' or ';', which the protocol reserves")
        if text in ("true", "false") or _INT.fullmatch(text) or _FLOAT.fullmatch(text):
            raise TextProtocolError(
                f"label {key!r} is the string {value!r}, which would read back as a "
                f"{'bool' if text in ('true', 'false') else 'number'}; store it with that type instead"
            )
        return text
    raise TextProtocolError(f"label {key!r} has unsupported type {type(value).__name__}; use bool, int, float or str")


def format_attributes(prefix: str, labels: Mapping[str, LabelValue]) -> str:
    """Write typed labels as attribute text, keys in the mapping's order.

    >>> format_attributes("fairface", {"age": "20-29", "gender": "male", "race": "east asian"})
    'fairface age: 20-29; gender: male; race: east asian;'
    """
    head = canonical(prefix)
    if not _PREFIX.fullmatch(head):
        raise TextProtocolError(f"prefix {prefix!r} must be one word of letters and digits (e.g. 'celeba')")
    parts = [head]
    for key, value in labels.items():
        name = canonical(key)
        if not name or ":" in name or ";" in name:
            raise TextProtocolError(f"label key {key!r} must be non-empty and free of ':' and ';'")
        parts.append(f"{name}: {_format_value(name, value)};")
    return " ".join(parts)


def _parse_value(text: str) -> LabelValue:
    if text == "true":
        return True
    if text == "false":
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def parse_attributes(text: str) -> tuple[str, dict[str, LabelValue]]:
    """Read attribute text back into ``(prefix, labels)`` with typed values.

    >>> parse_attributes("wiki age : 10 ; gender : female ;")
    ('wiki', {'age': 10, 'gender': 'female'})
    """
    body = _SPACE.sub(" ", text).strip()
    if not body:
        raise TextProtocolError("empty attribute text; expected '<prefix> <key>: <value>;'")
    head, _, rest = body.partition(" ")
    if not _PREFIX.fullmatch(head):
        raise TextProtocolError(f"attribute text {text!r} must start with a one-word prefix, got {head!r}")
    labels: dict[str, LabelValue] = {}
    rest = rest.strip()
    if not rest:
        return head, labels
    if not rest.endswith(";"):
        tail = rest.rsplit(";", 1)[-1].strip()
        raise TextProtocolError(f"in {text!r}: the pair {tail!r} does not end with ';'")
    for pair in rest[:-1].split(";"):
        key, colon, value = pair.partition(":")
        key, value = key.strip(), value.strip()
        if not colon or not key or not value or ":" in value:
            raise TextProtocolError(f"in {text!r}: {pair.strip()!r} is not a '<key>: <value>' pair")
        if key in labels:
            raise TextProtocolError(f"in {text!r}: key {key!r} appears twice")
        labels[key] = _parse_value(value)
    return head, labels


def normalize_caption(text: str) -> str:
    """Strip a caption and collapse runs of white space; otherwise leave it as written."""
    return " ".join(text.split())
