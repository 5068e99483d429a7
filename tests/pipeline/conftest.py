"""Shared fixtures of the pipeline tests: one tiny input, and one reference build every runner must match.

The input is three fake datasets in their native layouts: CelebA, CelebA-Dialog (which uses
CelebA's images, so faces are shared across datasets) and FairFace. The reference is built twice
on the in-process DirectRunner with the tiny-random VQGAN and one token cache: first FairFace alone,
then all three (the incremental rebuild). Other tests reuse a copy of its token cache, so they only
encode the faces they are meant to.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import fsspec
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from converters.fakes import make_all
from pipeline import BuildConfig, BuildResult, TokenizerSpec, resolve_datasets, run_build

DATASETS = ("celeba", "celeba_dialog", "fairface")
PER_SHARD = 4


def build(
    root: Path | str,
    out: Path | str,
    *beam_args: str,
    datasets: tuple[str, ...] | None = DATASETS,
    cache: str | None = "",
    **config: object,
) -> BuildResult:
    """One build with the tiny-random tokenizer, PER_SHARD samples per shard, and `beam_args` for Beam."""
    specs, skipped = resolve_datasets(str(root), list(datasets) if datasets else None)
    settings: dict[str, object] = {"samples_per_shard": PER_SHARD, "progress_every": 1000}
    settings.update(config)
    cfg = BuildConfig(datasets=specs, output=str(out), tokenizer=TokenizerSpec(preset="tiny-random"),
                      cache=cache, skipped=skipped, **settings)  # type: ignore[arg-type]
    return run_build(cfg, PipelineOptions(list(beam_args)))


def outputs(out: Path | str, *folders: str) -> dict[str, bytes]:
    """The bytes of every file a build wrote under the given folders, by path relative to OUT."""
    base = str(out).rstrip("/")
    fs, root = fsspec.core.url_to_fs(base)
    found = {}
    for folder in folders:
        for path in sorted(fs.find(f"{root}/{folder}")):
            found[path[len(root) :].lstrip("/")] = fs.cat_file(path)
    return found


def copy_cache(reference: Path, to: Path, drop_buckets: int = 0) -> tuple[Path, int]:
    """A copy of the reference token cache without its first `drop_buckets` buckets; returns it and the faces dropped."""
    shutil.copytree(reference, to)
    dropped = 0
    (fingerprint,) = [p for p in to.iterdir() if p.is_dir()]
    for bucket in sorted(p for p in fingerprint.iterdir() if p.is_dir())[:drop_buckets]:
        import numpy as np

        dropped += sum(len(np.load(seg, allow_pickle=False)) for seg in bucket.glob("*.npy"))
        shutil.rmtree(bucket)
    return to, dropped


@dataclass(frozen=True)
class Reference:
    root: Path
    first: BuildResult  # FairFace alone, cold cache
    full: BuildResult  # all three datasets, same cache
    out: Path
    cache: Path

    def files(self, *folders: str) -> dict[str, bytes]:
        return outputs(self.out, *folders)


@pytest.fixture(scope="session")
def raw_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    make_all(root, only=DATASETS)
    return root


@pytest.fixture(scope="session")
def reference(raw_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    base = tmp_path_factory.mktemp("reference")
    cache = base / "cache"
    first = build(raw_root, base / "fairface", datasets=("fairface",), cache=str(cache))
    full = build(raw_root, base / "out", cache=str(cache))
    return Reference(raw_root, first, full, base / "out", cache)


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for test modules (which cannot import a conftest)."""
    return SimpleNamespace(DATASETS=DATASETS, PER_SHARD=PER_SHARD, build=build, outputs=outputs, copy_cache=copy_cache)
