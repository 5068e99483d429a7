"""The layout of ``OUT/stats.json`` and the accounting invariant, defined once.

A build writes stats.json as its last step; `talk2face inspect` and the post-build check read it.
The document (keys in this order, counts are records unless named otherwise)::

    {"build": {...the build's settings...},
     "datasets": {"celeba": {"read": 12, "written": 8, "pairs": 8,
                             "filtered": {"<reason>": 0}, "rejected": {"<reason>": 4},
                             "moved_to_held_out_split": 1, "pairs_in_shards": 8,
                             "moved": {"same_face": 0, "same_photo": 1, "near_duplicate": 0},
                             "leaking": {}, "photo_links": {}, "ids": {"photo_id": 8, "person_id": 8},
                             "filtered_total": 0, "rejected_total": 4}, ...},
     "totals": {"read", "written", "pairs", "filtered_total", "rejected_total", "samples", "shards"},
     "splits": {"train": {"samples": 40, "shards": 3, "bytes": 123456}, ...},
     "split_conflicts": 1,
     "near_duplicates": {"threshold": 4, "compared_pairs": 310, "pairs": 2, "hot_buckets": 0,
                         "hot_bucket_entries": 0},
     "leaks": {"policy": "merge", "clusters": 3, "clusters_across_splits": 2, "clustered_samples": 7,
               "photo_pairs": 5, "lines_written": 3},
     "tokens": {"encoded": 90, "cached": 12, "fingerprints": {"<fingerprint>": 102},
                "tokenizer": {"fingerprint": "<fingerprint>", "kind": "vqgan", "codebook_size": 1024,
                              "tokens_per_face": 256, "grid_side": 16}},
     "accounting": {"ok": true, "problems": []}}

Per dataset, ``moved_to_held_out_split`` counts every record whose sample went to a more held-out
split than its own, and ``moved`` the same records by cause: ``same_face`` (an exact duplicate in
another split), ``same_photo`` (a record of another sample shares its photo id), ``near_duplicate``
(a face within ``near_duplicates.threshold`` bits of the perceptual hash). Under the ``report``
split policy nothing moves but exact duplicates, and ``leaking`` counts by cause the records that
``merge`` would move. ``photo_links`` counts CelebA-HQ photo ids: ``linked`` to their CelebA original
through the mapping file, ``no mapping file``, ``index not in mapping``, and ``original not in the
build`` (a linked id no CelebA record carries although CelebA was built). ``ids`` counts written
records with a photo id and with a person id. ``build.celeba_hq_mapping`` names the mapping file
read and its refused rows by reason (or says none was found), and the CelebA ``identity_file`` whose
identities linked CelebA-HQ records inherit as their person id (null when none was read). ``near_duplicates``: pairs compared
in LSH buckets, confirmed pairs, buckets left uncompared because they held more than the bucket
limit (``hot_buckets``) and their entries. ``leaks``: clusters (samples joined by photo or near-
duplicate links), how many span several splits, and the samples the one local clustering step held;
every cluster is a line of ``OUT/leaks.jsonl`` (members with split, datasets, source path; edges).

``tokens.tokenizer`` is the image tokenizer that made every sample's codes, as each sample's JSON
records it (`schemas.sample.TokenizerInfo`); null for a build that wrote no samples, absent in
stats.json written before it existed. The trainer sizes the model's vocabulary from it.

The invariant (DESIGN.md 3.5), per dataset: ``read == written + filtered + rejected``, and the
shards hold as many texts as the manifest has rows (``pairs_in_shards == pairs``). `unaccounted`
is the one implementation; the build, the post-build check and ``inspect --validate`` all use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from schemas.sample import SampleError, TokenizerInfo

STATS_FILE = "stats.json"


class StatsError(ValueError):
    """A stats.json that does not follow this layout; the message names the field."""


class DatasetStats(TypedDict, total=False):
    read: int
    written: int
    pairs: int
    filtered: dict[str, int]
    rejected: dict[str, int]
    moved_to_held_out_split: int
    pairs_in_shards: int
    moved: dict[str, int]
    leaking: dict[str, int]
    photo_links: dict[str, int]
    ids: dict[str, int]
    filtered_total: int
    rejected_total: int


class SplitStats(TypedDict):
    samples: int
    shards: int
    bytes: int


class TokenizerStats(TypedDict):
    fingerprint: str
    kind: str
    codebook_size: int
    tokens_per_face: int
    grid_side: int


class TokenStats(TypedDict):
    encoded: int
    cached: int
    fingerprints: dict[str, int]
    tokenizer: NotRequired[TokenizerStats | None]  # absent in stats.json written before it was recorded


class NearDuplicateStats(TypedDict):
    threshold: int
    compared_pairs: int
    pairs: int
    hot_buckets: int
    hot_bucket_entries: int


class LeakStats(TypedDict):
    policy: str
    clusters: int
    clusters_across_splits: int
    clustered_samples: int
    photo_pairs: int
    lines_written: int


class Accounting(TypedDict):
    ok: bool
    problems: list[str]


class Stats(TypedDict):
    build: dict[str, Any]
    datasets: dict[str, DatasetStats]
    totals: dict[str, int]
    splits: dict[str, SplitStats]
    split_conflicts: int
    near_duplicates: NearDuplicateStats
    leaks: LeakStats
    tokens: TokenStats
    accounting: Accounting


DATASET_COUNTS = ("read", "written", "pairs")
NEAR_DUPLICATE_COUNTS = ("compared_pairs", "pairs", "hot_buckets", "hot_bucket_entries")
LEAK_COUNTS = ("clusters", "clusters_across_splits", "clustered_samples", "photo_pairs", "lines_written")
DATASET_REASONS = ("filtered", "rejected")
TOTALS = ("read", "written", "pairs", "filtered_total", "rejected_total", "samples", "shards")


# --------------------------------------------------------------------------- the invariant


def unaccounted(dataset: str, read: int, written: int, filtered: int, rejected: int, where: str = "") -> str | None:
    """The one message for a dataset whose records do not add up, or None when they do.

    `where` says whose numbers these are (``"stats.json"``, ``"the outputs"``), for the message.
    """
    accounted = written + filtered + rejected
    if read == accounted:
        return None
    source = f" ({where})" if where else ""
    return (
        f"dataset {dataset}{source}: read {read} records but written {written} + filtered {filtered} + "
        f"rejected {rejected} = {accounted} ({read - accounted:+d} unaccounted)"
    )


def pairs_mismatch(dataset: str, pairs_in_shards: int, manifest_rows: int) -> str | None:
    """The message for shards and manifest that disagree on a dataset's texts, or None."""
    if pairs_in_shards == manifest_rows:
        return None
    return f"dataset {dataset}: the shards hold {pairs_in_shards} texts but the manifest {manifest_rows} rows"


def accounting_problems(stats: Mapping[str, Any]) -> list[str]:
    """What does not add up in a stats document, one message per problem; [] when the build is whole."""
    problems = []
    for name, d in stats["datasets"].items():
        message = unaccounted(name, d["read"], d["written"], sum(d["filtered"].values()), sum(d["rejected"].values()))
        if message:
            problems.append(message)
        if "pairs_in_shards" in d and (mismatch := pairs_mismatch(name, d["pairs_in_shards"], d["pairs"])):
            problems.append(mismatch)
    return problems


# --------------------------------------------------------------------------- reading


def _need(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in doc:
        raise StatsError(f"{where}: no {key!r}; rebuild with the current beam_runner.py to rewrite stats.json")
    value = doc[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise StatsError(f"{where}: {key!r} is {type(value).__name__} {value!r}, expected {getattr(kind, '__name__', kind)}")
    return value


def check_stats(doc: Any, source: str = STATS_FILE) -> Stats:
    """`doc` checked against this layout (the keys the readers rely on); raises StatsError naming the field."""
    if not isinstance(doc, dict):
        raise StatsError(f"{source} holds a {type(doc).__name__}, expected an object")
    datasets = _need(doc, "datasets", dict, source)
    for name, d in datasets.items():
        where = f"{source}: datasets.{name}"
        if not isinstance(d, dict):
            raise StatsError(f"{where} is {type(d).__name__}, expected an object")
        for key in DATASET_COUNTS:
            _need(d, key, int, where)
        for key in DATASET_REASONS:
            reasons = _need(d, key, dict, where)
            for reason, n in reasons.items():
                if not isinstance(n, int) or isinstance(n, bool):
                    raise StatsError(f"{where}.{key}.{reason} is {n!r}, expected a count")
    _need(doc, "totals", dict, source)
    splits = _need(doc, "splits", dict, source)
    for split, s in splits.items():
        for key in ("samples", "shards"):
            _need(s, key, int, f"{source}: splits.{split}")
    _need(doc, "split_conflicts", int, source)
    tokens = _need(doc, "tokens", dict, source)
    for key in ("encoded", "cached"):
        _need(tokens, key, int, f"{source}: tokens")
    stats_tokenizer(doc, source)
    return doc  # type: ignore[return-value]


def stats_tokenizer(doc: Mapping[str, Any], source: str = STATS_FILE) -> TokenizerInfo | None:
    """The tokenizer a stats.json records (None when it records none); StatsError for a malformed entry."""
    entry = doc.get("tokens", {}).get("tokenizer")
    if entry is None:
        return None
    try:
        return TokenizerInfo.from_meta(entry, f"{source}: tokens.tokenizer")
    except SampleError as err:
        raise StatsError(str(err)) from err


def parse_stats(data: bytes, source: str = STATS_FILE) -> Stats:
    """stats.json bytes -> the checked document; raises StatsError for bad JSON or layout."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StatsError(f"{source} is not readable JSON ({err}); rerun the build to rewrite it") from err
    return check_stats(doc, source)


def dump_stats(stats: Mapping[str, Any]) -> bytes:
    """The bytes of stats.json (indented, UTF-8, a final newline): the build's one serialisation."""
    return (json.dumps(stats, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
