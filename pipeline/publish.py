"""After a build: the files that let people load, cite and license-check it, written from what it wrote.

`publish_build` runs on the launching machine once `verify_build` has checked the outputs (no
Beam): it reads stats.json, the shard indexes (sample counts) and two manifest columns (dataset,
labels: the label types), and writes

* ``OUT/README.md``: the dataset card (schemas/card.py), refused (CardError) if it would
  contradict stats.json;
* ``OUT/croissant.json``: Croissant 1.0 metadata (schemas/catalog.py);
* ``OUT/<split>.wids.json``: one wids shard index per split (schemas/catalog.py).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version

import pyarrow.parquet as pq

from pipeline.config import BuildConfig, join
from pipeline.files import list_files, write_bytes
from pipeline.inspect.corpus import open_corpus
from pipeline.inspect.validate import read_index
from schemas.card import CARD_FILE, PRETTY_NAME, CardError, Provenance, card_problems, render_card
from schemas.catalog import CROISSANT_FILE, croissant, hf_features, label_dtypes, wids_file, wids_index
from schemas.shard import shard_file, shard_split
from schemas.stats import STATS_FILE, parse_stats

PROJECT = "talk2face-corpus"



def project_version() -> str:
    try:
        return version(PROJECT)
    except PackageNotFoundError:
        return "unknown (not installed)"


def git_commit() -> str | None:
    """The git commit of the code that runs, when it runs from a checkout; None otherwise."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        done = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def _manifest_labels(output: str) -> Iterator[tuple[str, str]]:
    import fsspec

    for url in list_files(join(output, "manifest"), ".parquet"):
        with fsspec.open(url, "rb") as f:
            table = pq.read_table(f, columns=["dataset", "labels"])
        # one row per distinct (dataset, labels): the texts of a record share its labels, and label
        # dtypes do not depend on how often a value occurs, so the launcher parses far fewer JSONs
        yield from sorted(set(zip(table["dataset"].to_pylist(), table["labels"].to_pylist(), strict=True)))


def shard_counts(output: str) -> dict[str, list[tuple[str, int]]]:
    """split -> [(shard path relative to OUT, samples)] from the shard indexes, in name order."""
    corpus = open_corpus(output)
    out: dict[str, list[tuple[str, int]]] = {}
    for path in corpus.shard_paths():
        out.setdefault(shard_split(path), []).append((f"shards/{shard_file(path)}", len(read_index(corpus, path).keys())))
    return out


def publish_build(config: BuildConfig, runner: str = "DirectRunner") -> list[str]:
    """Write the card, the Croissant file and the wids indexes of a verified build; returns their URLs."""
    stats_url = join(config.output, STATS_FILE)
    import fsspec

    with fsspec.open(stats_url, "rb") as f:
        stats = parse_stats(f.read(), stats_url)
    provenance = Provenance(command=config.command, version=project_version(), commit=git_commit(), runner=runner)
    features = hf_features(label_dtypes(_manifest_labels(config.output)), images=config.keep_images)
    card = render_card(stats, provenance, features)
    problems = card_problems(card, stats)
    if problems:
        raise CardError(f"the dataset card would contradict {stats_url}:\n  " + "\n  ".join(problems))
    written = [join(config.output, CARD_FILE)]
    write_bytes(written[0], card.encode("utf-8"))
    sources = stats["build"].get("sources", {})
    licenses = sorted({s["terms_class"] for s in sources.values()})
    cite = "\n".join(s["citation"].strip() for _, s in sorted(sources.items()))
    meta = croissant(PROJECT, f"{PRETTY_NAME}: face images as VQGAN tokens with their texts; see README.md",
                     provenance.version, licenses, cite, "README.md", list(stats["splits"]))
    written.append(join(config.output, CROISSANT_FILE))
    write_bytes(written[-1], (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    for split, shards in shard_counts(config.output).items():
        written.append(join(config.output, wids_file(split)))
        write_bytes(written[-1], wids_index(f"{PROJECT}-{split}", shards))
    return written
