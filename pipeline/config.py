"""What one corpus build is asked to do: the datasets and where they live, the output, the tokenizer.

Plain, picklable values resolved once on the launching machine (`resolve_datasets`) and passed to
the transforms' constructors; workers never look at command-line flags.
"""

from __future__ import annotations

import logging
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

import converters
import converters.base
from model.tokenizers import NO_TOKENIZER, load_image_tokenizer
from schemas.source import select_by_terms

logger = logging.getLogger(__name__)

DEFAULT_SAMPLES_PER_SHARD = 5000
DEFAULT_MAX_CLUSTERED = 1_000_000  # samples with an edge the clustering step gathers on one worker (~1 KB each)


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset to convert: its key, its folder URL, and the folders of the others (shared images)."""

    key: str
    url: str
    siblings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TokenizerSpec:
    """Which VQGAN tokenises the faces: a seeded preset, or a taming log's project.yaml and .ckpt.

    There is no default: a build names its tokenizer. Paths may be any fsspec URL; workers copy
    remote files to a local temporary folder once.
    """

    preset: str | None = None
    config: str | None = None
    checkpoint: str | None = None
    device: str | None = None  # None: CUDA when present
    batch_size: int | None = None  # faces per encode call; None: the tokenizer's default (32 CUDA, 8 CPU)
    threads: int | None = None  # torch CPU threads per worker process; None: torch's default (all cores)

    def __post_init__(self) -> None:
        if (self.config is None) != (self.checkpoint is None):
            raise ValueError("give both --vqgan-config and --vqgan-checkpoint (a taming log's project.yaml and last.ckpt)")
        if self.config is not None and self.preset is not None:
            raise ValueError("give either --vqgan-preset or --vqgan-config/--vqgan-checkpoint, not both")
        if self.config is None and self.preset is None:
            raise ValueError(NO_TOKENIZER)
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"tokenizer batch size must be >= 1, got {self.batch_size}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"--vqgan-threads must be >= 1, got {self.threads}")

    def describe(self) -> str:
        return f"preset {self.preset}" if self.preset else f"taming {self.config} + {self.checkpoint}"

    def build(self) -> Any:
        """Load the tokenizer (`model.tokenizers.load_image_tokenizer`); call once per worker process."""
        if self.threads is not None:
            import torch

            torch.set_num_threads(self.threads)
        if self.preset is not None:
            return load_image_tokenizer(self.preset, device=self.device, batch_size=self.batch_size)
        assert self.config is not None and self.checkpoint is not None
        config, checkpoint = _local_copy(self.config), _local_copy(self.checkpoint)
        return load_image_tokenizer(config=config, checkpoint=checkpoint, device=self.device, batch_size=self.batch_size)


@dataclass(frozen=True)
class BuildConfig:
    """Everything a build needs, as constants for the transforms' constructors."""

    datasets: tuple[DatasetSpec, ...]
    output: str
    tokenizer: TokenizerSpec
    keep_images: bool = False
    samples_per_shard: int = DEFAULT_SAMPLES_PER_SHARD
    limit: int | None = None  # records read per dataset (first N), for trial builds
    max_pixels: int | None = None  # decompression-bomb limit; None: model.tokenizers.faces.MAX_PIXELS
    cache: str | None = ""  # token cache URL; "" -> OUT/cache, None -> no cache
    skipped: tuple[str, ...] = ()  # dataset keys asked for whose folder is absent
    progress_every: int = 1000  # log a stage's rate every N elements
    split_policy: str = "merge"  # "merge": a cluster (same face/photo/near-duplicate) takes its most held-out split; "report": splits as published
    celeba_hq_mapping: str | None = None  # CelebA-HQ-to-CelebA-mapping.txt; None: looked for in the dataset folders
    near_dup_threshold: int = 4  # Hamming bits (of 64) at most between near-duplicate faces (pipeline/neardup.py)
    max_clustered: int = DEFAULT_MAX_CLUSTERED  # linked samples the one clustering step may gather (pipeline/leaks.py)
    accept_terms: tuple[str, ...] | None = None  # terms classes a build was limited to (--accept-terms); None: all
    left_out_by_terms: tuple[tuple[str, str], ...] = ()  # (dataset key, why) left out by accept_terms
    command: str = ""  # the command line, for the dataset card (not in stats.json: it differs between equal builds)

    def __post_init__(self) -> None:
        object.__setattr__(self, "output", absolute(self.output.rstrip("/")))
        if self.cache:
            object.__setattr__(self, "cache", absolute(self.cache))
        if self.samples_per_shard < 1:
            raise ValueError(f"--samples-per-shard must be >= 1, got {self.samples_per_shard}")
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"--limit must be >= 0, got {self.limit}")
        if self.split_policy not in ("merge", "report"):
            raise ValueError(f"--split-policy must be merge or report, got {self.split_policy!r}")
        if not 0 <= self.near_dup_threshold <= 15:
            raise ValueError(f"--near-dup-threshold must be 0..15 bits, got {self.near_dup_threshold}")
        if self.max_clustered < 1:
            raise ValueError(f"--max-clustered-samples must be >= 1, got {self.max_clustered}")

    @property
    def cache_url(self) -> str | None:
        if self.cache is None:
            return None
        return self.cache or join(self.output, "cache")

    def summary(self) -> dict[str, Any]:
        """The build settings as recorded in stats.json."""
        return {
            "datasets": [d.key for d in self.datasets],
            "skipped_datasets": list(self.skipped),
            "tokenizer": self.tokenizer.describe(),
            "keep_images": self.keep_images,
            "samples_per_shard": self.samples_per_shard,
            "limit": self.limit,
            "split_policy": self.split_policy,
            "near_dup_threshold": self.near_dup_threshold,
            "accept_terms": list(self.accept_terms) if self.accept_terms is not None else None,
            "left_out_by_terms": dict(self.left_out_by_terms),
            "sources": source_records(d.key for d in self.datasets),
        }


def source_records(keys: Iterable[str]) -> dict[str, dict[str, str]]:
    """stats.json's ``build.sources``: each dataset's declared source (schemas/source.py) and text kind."""
    registered = converters.base.registry()
    out = {}
    for key in sorted(keys):
        cls = registered.get(key)
        if cls is not None and cls.source is not None:
            out[key] = cls.source.as_record() | {"text_kind": cls.text_kind}
    return out


def select_datasets_by_terms(
    specs: Sequence[DatasetSpec], accept: Sequence[str] | None, strict: bool = False
) -> tuple[tuple[DatasetSpec, ...], tuple[tuple[str, str], ...]]:
    """The datasets a build keeps under ``--accept-terms`` and those it leaves out, with why.

    A converter without a declared source is named in a warning (ValueError under `strict`,
    ``--strict-sources``); `accept` None keeps every dataset. Raises ValueError (TermsError) when
    `accept` keeps none of them.
    """
    registered = converters.base.registry()
    sources = {s.key: registered[s.key].source for s in specs}
    undeclared = sorted(k for k, v in sources.items() if v is None)
    if undeclared:
        message = (f"converter(s) {', '.join(undeclared)} declare no source (homepage, citation, terms): set "
                   "`source = Source(...)` on the class (schemas/source.py); the dataset card lists them as undeclared")
        if strict:
            raise ValueError(message + " (--strict-sources)")
        logger.warning(message)
    kept, left_out = select_by_terms(sources, accept)
    for key, why in left_out.items():
        logger.warning("dataset %s left out: %s", key, why)
    return tuple(s for s in specs if s.key in kept), tuple(sorted(left_out.items()))


def absolute(url: str) -> str:
    """A local path made absolute (workers may run in another folder); any other URL as it is."""
    return url if "://" in url else os.path.abspath(url)


def join(url: str, *parts: str) -> str:
    """`url` / parts, for local paths and any fsspec URL alike."""
    return posixpath.join(url.rstrip("/"), *parts) if "://" in url else os.path.join(url, *parts)


def resolve_datasets(
    input_root: str | None,
    keys: Sequence[str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> tuple[tuple[DatasetSpec, ...], tuple[str, ...]]:
    """The datasets to build and the keys skipped because their folder is absent.

    `keys` restricts the build (default: every registered converter); `overrides` maps a key to a
    folder elsewhere (``--dataset KEY=PATH``). An unknown key raises ValueError listing the known
    ones. Each dataset's siblings are all the dataset folders that exist (shared images).
    """
    known = converters.available()
    overrides = dict(overrides or {})
    broken = converters.broken()  # plug-ins that failed to import: fatal only when asked for
    for key in sorted({*(keys or ()), *overrides} & set(broken)):
        raise ValueError(broken[key])
    unknown = sorted({*(keys or ()), *overrides} - set(known))
    if unknown:
        raise ValueError(f"unknown dataset key(s) {', '.join(unknown)}; known keys: {', '.join(known)}")
    if input_root is None and not overrides:
        raise ValueError("give --input-root ROOT (one folder per dataset key) or --dataset KEY=PATH")
    if input_root is not None and _isfile(input_root):
        raise ValueError(f"--input-root {input_root} is a file, not a folder; give the folder that holds one "
                         "folder per dataset key (ROOT/celeba, ROOT/fairface, ...)")
    for key, path in sorted(overrides.items()):
        if _isfile(path):
            raise ValueError(f"--dataset {key}={path} is a file, not a folder; give the dataset's folder "
                             "(the one holding its files as published)")
    folders: dict[str, str] = {}
    for key in known:
        url = overrides.get(key) or (join(input_root, key) if input_root is not None else None)
        if url is not None and _isdir(url):
            folders[key] = absolute(url.rstrip("/"))
    _refuse_shared_folders(folders, overrides)
    wanted = list(keys) if keys else (known if input_root is not None else sorted(overrides))
    skipped = []
    specs = []
    siblings = tuple(sorted(folders.items()))
    for key in sorted(set(wanted)):
        if key not in folders:
            where = overrides.get(key) or join(input_root or "", key)
            logger.warning("dataset %s: no folder at %s, skipped", key, where)
            skipped.append(key)
            continue
        specs.append(DatasetSpec(key, folders[key], siblings))
    if not specs:
        raise ValueError(
            f"no dataset folder found under {input_root!r} (looked for {', '.join(sorted(set(wanted)))}); "
            "each dataset must sit in a folder named by its key, or be given with --dataset KEY=PATH"
        )
    return tuple(specs), tuple(skipped)


def _isdir(url: str) -> bool:
    fs, path = fsspec.core.url_to_fs(url)
    return bool(fs.isdir(path))


def _isfile(url: str) -> bool:
    fs, path = fsspec.core.url_to_fs(url)
    return bool(fs.isfile(path))


def normalised(url: str) -> tuple[str, str]:
    """`url` as (fsspec protocol, normalised path): local paths absolute with links resolved, for comparing."""
    fs, path = fsspec.core.url_to_fs(url)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if isinstance(fs, LocalFileSystem):
        return "file", os.path.realpath(path)
    return protocol, posixpath.normpath(path).rstrip("/") or "/"


def inside(url: str, folder: str) -> bool:
    """Whether `url` is `folder` or lies under it (same filesystem, path prefix by whole names)."""
    (proto, path), (folder_proto, folder_path) = normalised(url), normalised(folder)
    return proto == folder_proto and (path == folder_path or path.startswith(folder_path.rstrip("/") + "/"))


def _refuse_shared_folders(folders: Mapping[str, str], overrides: Mapping[str, str]) -> None:
    """ValueError when two datasets would read the same folder (``--dataset a=X --dataset b=X``, or ROOT/b)."""
    by_path: dict[tuple[str, str], list[str]] = {}
    for key, url in sorted(folders.items()):
        by_path.setdefault(normalised(url), []).append(key)
    for keys in by_path.values():
        if len(keys) > 1:
            how = ", ".join(f"--dataset {k}={overrides[k]}" if k in overrides else f"{k} from ROOT/{k}" for k in keys)
            raise ValueError(f"datasets {' and '.join(keys)} would read the same folder {folders[keys[0]]} ({how}); "
                             "give each dataset its own folder with --dataset KEY=PATH")


def check_output_location(output: str, input_root: str | None, overrides: Mapping[str, str] | None = None,
                          cache: str | None = None) -> None:
    """ValueError when the output (or the token cache) lies inside the input root or a ``--dataset`` folder.

    A build there would read its own outputs the next time (and a converter may walk them now).
    Every other dataset folder is ROOT/<key>, inside the root. Paths are compared normalised: same
    fsspec protocol, path prefix by whole folder names, local links resolved.
    """
    folders = {"the input root": input_root} if input_root is not None else {}
    for key, path in sorted((overrides or {}).items()):
        folders[f"dataset {key}'s folder"] = path
    for flag, url in (("--output", output), ("--token-cache", cache)):
        for what, folder in folders.items():
            if url and inside(url, folder):
                raise ValueError(f"{flag} {url} is inside {what} {folder}: the build would read its own outputs; "
                                 "write them outside the input folders")


def _local_copy(url: str) -> str:
    """A local path for `url`: itself when local, else a copy in a temporary folder (kept for the process)."""
    fs, path = fsspec.core.url_to_fs(url)
    if isinstance(fs, LocalFileSystem):
        return path
    folder = tempfile.mkdtemp(prefix="talk2face-vqgan-")
    local = os.path.join(folder, posixpath.basename(path))
    with fs.open(path, "rb") as src, open(local, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return local
