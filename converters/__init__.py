"""Dataset converters: read each face dataset exactly as its authors ship it, turn labels into text.

One module per dataset (``converters/<key>.py``) defines a `Converter` subclass, which registers
itself by key and declares what the rest of the system needs from it (label values, integer keys,
its fake-data generator: ``converters/fakes/<key>.py`` for the built-ins); its declarative test is
in ``tests/converters/``. Other packages add converters through the ``talk2face.converters``
entry-point group; one that fails to import is reported once and left out (`broken()`), and only
asking for it fails. Converters import `schemas` only: no Beam, no tokenizer, no serialization.
`get(key)` and `available()` are the registry's public face.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from converters.base import Converter, ConverterError, DatasetRoot, Outcome, registry
from schemas.text import canonical

_NOT_CONVERTERS = {"base", "testing", "fuzzing", "celeba_hq_mapping", "fakes", "fakeroot", "__main__"}
_loaded = False
_loading = False
_lock = threading.RLock()
_broken: dict[str, str] = {}  # entry-point name -> the one line that says why it failed and what to do
ENTRY_POINT_GROUP = "talk2face.converters"
PLUGIN_DOCS = "docs/RUNNING.md, 'Converters from other packages'"
logger = logging.getLogger(__name__)


def _load_all() -> None:
    """Import every built-in converter module and every entry-point plug-in, once per process.

    The registry counts as loaded only once all of them were tried: a built-in that fails to import
    raises (and the next call tries again); a plug-in that fails is logged once and recorded in
    `broken()`, so the built-ins and the other plug-ins stay usable.
    """
    global _loaded, _loading
    with _lock:
        if _loaded or _loading:  # _loading: a plug-in module that asks the registry while it is imported
            return
        _loading = True
        try:
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
                if info.name not in _NOT_CONVERTERS and not info.name.startswith("_"):
                    importlib.import_module(f"{__name__}.{info.name}")
            for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                try:
                    ep.load()
                except Exception as err:  # a broken plug-in must not hide the built-in converters
                    _broken[ep.name] = (
                        f"converter plug-in {ep.name!r} (entry point {ep.name} = {ep.value!r} in group "
                        f"{ENTRY_POINT_GROUP!r}) failed to load: {type(err).__name__}: {err}; reinstall or "
                        f"uninstall the package that declares it"
                    )
                    logger.warning("%s; going on without it", _broken[ep.name])
            _loaded = True
        finally:
            _loading = False


def broken() -> dict[str, str]:
    """The plug-ins that failed to import: entry-point name -> what failed and what to do."""
    _load_all()
    return dict(_broken)


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


def _class(key: str) -> type[Converter]:
    _load_all()
    try:
        return registry()[key]
    except KeyError:
        if key in _broken:
            raise ConverterError(_broken[key]) from None
        raise KeyError(
            f"unknown dataset {key!r}; known datasets: {', '.join(available())} (a converter from another "
            f"package must be installed where this runs: {PLUGIN_DOCS})"
        ) from None


def get(key: str, **options: Any) -> Converter:
    """A converter instance for `key`; an unknown key raises KeyError listing the known ones, a broken plug-in ConverterError."""
    return _class(key)(**options)


def fake_maker(key: str) -> Callable[..., None]:
    """The fake-data generator `key`'s converter declares (`Converter.fake`): ``make(folder, variant="default")``."""
    return _class(key).fake_maker()


__all__ = [
    "Converter",
    "ConverterError",
    "DatasetRoot",
    "Outcome",
    "available",
    "broken",
    "fake_maker",
    "get",
    "integer_key",
    "label_values",
]
