"""Dataset converters: read each face dataset exactly as its authors ship it, turn labels into text.

One module per dataset (``converters/<key>.py``) defines a `Converter` subclass, which registers
itself by key; its fake-data generator lives in ``converters/fakes/<key>.py`` and its declarative
test in ``tests/converters/``. Third-party packages add converters through the
``talk2face.converters`` entry-point group. Converters import `schemas` only: no Beam, no
tokenizer, no serialization. `get(key)` and `available()` are the registry's public face.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points
from typing import Any

from converters.base import Converter, ConverterError, DatasetRoot, Outcome, registry
from schemas.text import canonical

_NOT_CONVERTERS = {"base", "testing", "fuzzing", "celeba_hq_mapping", "fakes", "fakeroot", "__main__"}
_loaded = False


def _load_all() -> None:
    """Import every built-in converter module and every entry-point plug-in, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name not in _NOT_CONVERTERS and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    for ep in entry_points(group="talk2face.converters"):
        try:
            ep.load()
        except Exception as err:  # a broken plug-in must not hide the built-in converters
            raise ConverterError(f"converter plug-in {ep.name!r} ({ep.value}) failed to load: {err}") from err


def available() -> list[str]:
    """The registered dataset keys, sorted."""
    _load_all()
    return sorted(registry())


def _declaring(prefix: str) -> list[type[Converter]]:
    _load_all()
    return [cls for cls in registry().values() if prefix in (cls.prefixes or (cls.prefix,))]


def label_values(prefix: str, key: str) -> tuple[str, ...] | None:
    """The values the dataset whose texts start with `prefix` writes for `key` (``fairface``, ``race``), or None.

    The converters declare them (`Converter.label_values`); None when no converter declares the key.
    """
    key = canonical(key)
    for cls in _declaring(prefix):
        if key in cls.label_values:
            return tuple(cls.label_values[key])
    return None


def integer_key(prefix: str, key: str) -> bool:
    """Whether the dataset whose texts start with `prefix` writes integers for `key` (``cacd``, ``age``)."""
    key = canonical(key)
    return any(key in cls.integer_keys for cls in _declaring(prefix))


def get(key: str, **options: Any) -> Converter:
    """A converter instance for `key`; an unknown key raises KeyError listing the known ones."""
    _load_all()
    try:
        cls = registry()[key]
    except KeyError:
        raise KeyError(f"unknown dataset {key!r}; known datasets: {', '.join(available())}") from None
    return cls(**options)


__all__ = ["Converter", "ConverterError", "DatasetRoot", "Outcome", "available", "get", "integer_key", "label_values"]
