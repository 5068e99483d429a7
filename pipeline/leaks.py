"""FindLeaks and ApplySplitPolicy: no photo on both sides of a split (DESIGN.md 3.4, issue 14).

Exact duplicates already share a sample (DedupeByContent). Two samples are also *linked* when
their records share a photo id (a CelebA-HQ re-crop and its CelebA original, once `LinkPhotoIds`
has mapped ``celeba_hq:<idx>`` through CelebAMask-HQ's mapping file) or when their faces'
perceptual hashes are within the near-duplicate threshold (`pipeline.neardup`):

    samples ─► (photo id, key) ─► GroupByPhoto ─────────────────┐ edges
    hashes ─► (band, band value) ─► GroupByBand ─► close pairs ─┤
    samples ─► (key, split) ─► joined with edge ends ───────────┴─► one union-find ─► (key, cluster split, cause)

The connected components are computed in one bounded local step: only samples with at least one
edge enter it (a few percent of a corpus: ~100k keys and their edges at 2.3M faces, tens of MB), so
it runs on one worker; `leaks.clustered_samples` in stats.json says how many it held. It is bounded:
past `max_clustered` samples (or 10x that many pairs) the build stops with `LeakFloodError`, which
says what flooded it, rather than let one worker's memory grow with the corpus. Policy
``merge`` moves every sample of a cluster to its most held-out split; ``report`` keeps the official
splits and only counts what leaks. Either way each cluster is a line of ``OUT/leaks.jsonl``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import apache_beam as beam
import fsspec

from converters.base import ConverterError, DatasetRoot
from converters.celeba import IDENTITY_FILES, CelebA
from converters.celeba_hq_mapping import MAPPING_FILE, HqMapping, parse_mapping
from pipeline.config import DEFAULT_MAX_CLUSTERED, DatasetSpec, join
from pipeline.files import write_bytes
from pipeline.neardup import DEFAULT_MAX_BUCKET, FaceHash, UnionFind, band_keys, close_pairs
from pipeline.read import SplitByType
from pipeline.samples import Sample
from schemas import FaceRecord, most_held_out

logger = logging.getLogger("pipeline")

LEAKS_FILE = "leaks.jsonl"
POLICIES = ("merge", "report")
SAME_FACE, SAME_PHOTO, NEAR_DUPLICATE = "same_face", "same_photo", "near_duplicate"
HQ_PREFIX = "celeba_hq:"
MAPPING_FOLDERS = ("mm_celeba_hq", "celeba_text_hq", "celeba")  # where the mapping file is looked for
MAPPING_PLACES = (MAPPING_FILE, f"CelebAMask-HQ/{MAPPING_FILE}", f"Anno/{MAPPING_FILE}")
NO_MAPPING = "no mapping file"
NOT_MAPPED = "index not in mapping"
ABSENT = "original not in the build"
EDGES_PER_CLUSTERED = 10  # pairs allowed per clustered sample
Tally = tuple[tuple[str, ...], int]


class LeakFloodError(RuntimeError):
    """Too many linked samples for the one local clustering step: the data or the threshold floods it."""


# --------------------------------------------------------------------------- photo ids


def find_mapping(datasets: Iterable[DatasetSpec], explicit: str | None = None) -> str | None:
    """The URL of the CelebA-HQ mapping file: `explicit`, else the first found in the HQ or CelebA folders."""
    if explicit:
        return explicit
    folders = {d.key: d.url for d in datasets} | {k: u for d in datasets for k, u in d.siblings}
    for key in MAPPING_FOLDERS:
        if key not in folders:
            continue
        for rel in MAPPING_PLACES:
            url = join(folders[key], rel)
            fs, path = fsspec.core.url_to_fs(url)
            if fs.exists(path):
                return url
    return None


def load_mapping(url: str | None) -> tuple[HqMapping | None, dict[str, Any]]:
    """The parsed mapping (or None) and its summary for stats.json; logs once what it found."""
    if url is None:
        note = (f"no {MAPPING_FILE} in {', '.join(MAPPING_FOLDERS)} and no --celeba-hq-mapping: "
                "CelebA-HQ records are not linked to their CelebA originals")
        logger.warning(note)
        return None, {"file": None, "note": note}
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    mapping = parse_mapping(text, url)
    logger.info("CelebA-HQ mapping %s: %d images linked, %d rows refused", url, len(mapping.originals),
                sum(mapping.bad_rows.values()))
    for example in mapping.examples:
        logger.warning("refused a mapping row: %s", example)
    return mapping, {"file": url, "rows_linked": len(mapping.originals), "bad_rows": dict(sorted(mapping.bad_rows.items()))}


def load_identities(datasets: Iterable[DatasetSpec], wanted: Iterable[str]) -> tuple[dict[str, str], str | None]:
    """CelebA's identity numbers of the `wanted` file names (``000004.jpg`` -> ``2880``) and the file read.

    Read from the CelebA folder's ``Anno/identity_CelebA.txt`` (converters.celeba) whether or not
    CelebA itself is built, so CelebA-HQ records get the person id of their original; ({}, None)
    when there is no CelebA folder or no identity file. Lines that do not parse are left out.
    """
    folders = {d.key: d.url for d in datasets} | {k: u for d in datasets for k, u in d.siblings}
    names = set(wanted)
    if "celeba" not in folders or not names:
        return {}, None
    try:
        root = DatasetRoot(folders["celeba"], "celeba").locate(*IDENTITY_FILES)
    except ConverterError:
        return {}, None
    rel = root.first_existing(*IDENTITY_FILES)
    if rel is None:
        return {}, None
    found = {name: person for name, person in CelebA._identities(root, rel)
             if name in names and not person.startswith("line ")}
    return found, join(root.url, rel)


class LinkPhotoIds(beam.DoFn):
    """FaceRecord -> the record with ``celeba_hq:<idx>`` replaced by its CelebA original's photo id, + tallies.

    With `persons` (CelebA file name -> identity number) a linked record without a person id takes
    its original's, ``celeba:<identity>``.
    """

    def __init__(self, originals: Mapping[str, str] | None, persons: Mapping[str, str] | None = None) -> None:
        self.originals = dict(originals) if originals is not None else None
        self.persons = dict(persons or {})

    def process(self, record: FaceRecord) -> Iterator[FaceRecord | Tally]:
        if not record.photo_id.startswith(HQ_PREFIX):
            yield record
            return
        idx = record.photo_id[len(HQ_PREFIX):]
        name = self.originals.get(idx) if self.originals is not None else None
        if name is None:
            yield ("datasets", record.dataset, "photo_links", NO_MAPPING if self.originals is None else NOT_MAPPED), 1
            yield record
            return
        yield ("datasets", record.dataset, "photo_links", "linked"), 1
        person = record.person_id or (f"celeba:{self.persons[name]}" if name in self.persons else "")
        yield replace(record, photo_id=f"celeba:{name}", person_id=person)


def id_tallies(record: FaceRecord) -> Iterator[Tally]:
    """Written records that carry a photo id and a person id (counted once the face loaded)."""
    if record.photo_id:
        yield ("datasets", record.dataset, "ids", "photo_id"), 1
    if record.person_id:
        yield ("datasets", record.dataset, "ids", "person_id"), 1


# --------------------------------------------------------------------------- edges


@dataclass(frozen=True)
class Edge:
    """Two samples that must share a split: ``a < b``, the cause, the Hamming distance (0 for a photo)."""

    a: str
    b: str
    cause: str
    distance: int = 0

    def as_tuple(self) -> tuple[str, str, str, int]:
        return self.a, self.b, self.cause, self.distance


def photo_members(sample: Sample) -> Iterator[tuple[str, tuple[str, str]]]:
    for record in sample.records:
        if record.photo_id:
            yield record.photo_id, (sample.key, record.dataset)


def photo_edges(element: tuple[str, Iterable[tuple[str, str]]], celeba_built: bool) -> Iterator[Edge | Tally]:
    """The samples of one photo id, chained; a linked CelebA-HQ photo whose CelebA original was not built is counted."""
    photo, members = element
    members = sorted(set(members))
    keys = sorted({k for k, _ in members})
    for other in keys[1:]:
        yield Edge(keys[0], other, SAME_PHOTO)
    datasets = {d for _, d in members}
    if celeba_built and photo.startswith("celeba:") and "celeba" not in datasets:
        for _, dataset in members:  # a CelebA file the mapping or CelebA-Dialog names, absent or rejected
            yield ("datasets", dataset, "photo_links", ABSENT), 1


def hash_bands(item: tuple[str, int], bands: int) -> Iterator[tuple[tuple[int, int], tuple[str, int]]]:
    key, value = item
    for band in band_keys(value, bands):
        yield band, (key, value)


def bucket_edges(element: tuple[Any, Iterable[tuple[str, int]]], threshold: int, max_bucket: int) -> Iterator[Edge | Tally]:
    result = close_pairs(element[1], threshold, max_bucket)
    if result.hot:
        yield ("near_duplicates", "hot_buckets"), 1
        yield ("near_duplicates", "hot_bucket_entries"), result.size
        return
    if result.compared:
        yield ("near_duplicates", "compared_pairs"), result.compared
    for a, b, distance in result.pairs:
        yield Edge(a, b, NEAR_DUPLICATE, distance)


def hash_item(h: FaceHash) -> tuple[str, int]:
    return h.key, h.value


# --------------------------------------------------------------------------- clusters


def node_of(sample: Sample) -> tuple[str, tuple[str, tuple[str, ...], str]]:
    """(key, (split, datasets, first source path)) of a sample, what a cluster needs to know of it."""
    return sample.key, (sample.split, tuple(sorted({r.dataset for r in sample.records})), sample.first.source_path)


def edge_ends(edge: tuple[str, str, str, int]) -> Iterator[tuple[str, int]]:
    yield edge[0], 1
    yield edge[1], 1


def linked_node(element: tuple[str, Mapping[str, list[Any]]]) -> Iterator[tuple[str, tuple[str, Any]]]:
    key, joined = element
    if joined["edges"] and joined["nodes"]:
        yield "all", ("node", (key, joined["nodes"][0]))


def as_edge_item(edge: tuple[str, str, str, int]) -> tuple[str, tuple[str, Any]]:
    return "all", ("edge", edge)


def check_flood(nodes: int, edges: int, limit: int, threshold: int, near: int) -> None:
    """Raise LeakFloodError once the gathered graph passes `limit` samples or EDGES_PER_CLUSTERED x `limit` pairs."""
    if nodes <= limit and edges <= EDGES_PER_CLUSTERED * limit:
        return
    raise LeakFloodError(
        f"FindLeaks: more than {limit:,} samples or {EDGES_PER_CLUSTERED * limit:,} pairs are linked to another sample "
        f"(gathered so far: {nodes:,} samples, {edges:,} pairs, {near:,} of them near-duplicates within {threshold} bits); "
        "they are clustered on one worker, so the build stops here instead of running out of memory. Near-duplicates "
        "of a few percent of the faces are normal; this many usually means faces that look alike to the perceptual "
        "hash (blank, flat or synthetic pictures) or a loose --near-dup-threshold. Build a subset (--limit) and look "
        "at stats.json near_duplicates and OUT/leaks.jsonl; lower --near-dup-threshold, or raise "
        "--max-clustered-samples when the worker has the memory (~1 KB per sample).")


def resolve_clusters(element: tuple[str, Iterable[tuple[str, Any]]], limit: int = DEFAULT_MAX_CLUSTERED,
                     threshold: int = 0) -> Iterator[tuple[str, tuple[str, str]] | Tally | dict]:
    """The one local step: union-find over every edge; yields (key, (cluster split, cause)), tallies, leak lines.

    Stops with LeakFloodError as soon as more than `limit` samples (or 10x as many pairs) have arrived.
    """
    nodes: dict[str, tuple[str, tuple[str, ...], str]] = {}
    edges: list[tuple[str, str, str, int]] = []
    near = 0
    for n, (kind, value) in enumerate(element[1], 1):
        if kind == "node":
            nodes[value[0]] = tuple(value[1])  # type: ignore[assignment]
        else:
            edges.append(tuple(value))  # type: ignore[arg-type]
            near += value[2] == NEAR_DUPLICATE
        if n % 4096 == 0:
            check_flood(len(nodes), len(edges), limit, threshold, near)
    check_flood(len(nodes), len(edges), limit, threshold, near)
    edges.sort()
    every, photos = UnionFind(), UnionFind()
    for a, b, cause, _ in edges:
        every.union(a, b)
        if cause == SAME_PHOTO:
            photos.union(a, b)
    yield ("leaks", "clustered_samples"), len(nodes)
    by_cluster: dict[str, list[tuple[str, str, str, int]]] = {}
    for edge in edges:
        by_cluster.setdefault(every.find(edge[0]), []).append(edge)
    for members in every.groups(nodes):
        target = most_held_out([nodes[k][0] for k in members])
        across = len({nodes[k][0] for k in members}) > 1
        yield ("leaks", "clusters"), 1
        if across:
            yield ("leaks", "clusters_across_splits"), 1
        for key in members:
            # moved by its photo when a sample of the same photo is in the target split (for one already there:
            # when it shares its photo at all); otherwise only a near-duplicate link reaches that split
            same = [o for o in members if o != key and photos.find(o) == photos.find(key)]
            by_photo = bool(same) if nodes[key][0] == target else any(nodes[o][0] == target for o in same)
            yield key, (target, SAME_PHOTO if by_photo else NEAR_DUPLICATE)
        yield {
            "cluster": members[0], "split": target, "across_splits": across,
            "members": [{"key": k, "split": nodes[k][0], "datasets": list(nodes[k][1]), "source_path": nodes[k][2]}
                        for k in members],
            "edges": [list(e) for e in by_cluster.get(every.find(members[0]), [])],
        }


class WriteLeaksFile(beam.DoFn):
    """Cluster lines -> ``OUT/leaks.jsonl``, sorted by cluster key (an empty file when there are none)."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element: tuple[str, Iterable[dict | None]]) -> Iterator[Tally]:
        lines = sorted((c for c in element[1] if c is not None), key=lambda c: c["cluster"])
        data = "".join(json.dumps(c, ensure_ascii=False, sort_keys=True) + "\n" for c in lines).encode("utf-8")
        write_bytes(join(self.output, LEAKS_FILE), data)
        yield ("leaks", "lines_written"), len(lines)


def keyed_line(line: dict) -> tuple[str, dict]:
    return "leaks", line


def pair_tally(edge: tuple[str, str, str, int]) -> Tally:
    if edge[2] == NEAR_DUPLICATE:
        return ("near_duplicates", "pairs"), 1
    return ("leaks", "photo_pairs"), 1


def is_tally(element: Any) -> bool:
    return isinstance(element, tuple) and len(element) == 2 and isinstance(element[0], tuple)


def is_assignment(element: Any) -> bool:
    return isinstance(element, tuple) and len(element) == 2 and isinstance(element[0], str)


class FindLeaks(beam.PTransform):
    """(samples, hashes) -> {"clusters": (key, (cluster split, cause)), "tallies": Tally}; writes leaks.jsonl."""

    def __init__(self, output: str, threshold: int, bands: int, celeba_built: bool,
                 max_bucket: int = DEFAULT_MAX_BUCKET, max_clustered: int = DEFAULT_MAX_CLUSTERED) -> None:
        super().__init__()
        self.output, self.threshold, self.bands = output, threshold, bands
        self.celeba_built, self.max_bucket, self.max_clustered = celeba_built, max_bucket, max_clustered

    def expand(self, inputs: tuple[beam.PCollection, beam.PCollection]) -> dict[str, beam.PCollection]:
        samples, hashes = inputs
        by_photo = (
            samples
            | "PhotoMembers" >> beam.FlatMap(photo_members)
            | "GroupByPhoto" >> beam.GroupByKey()
            | "PhotoEdges" >> beam.FlatMap(photo_edges, self.celeba_built)
        )
        by_hash = (
            hashes
            | "HashItems" >> beam.Map(hash_item)
            | "OneHashPerFace" >> beam.Distinct()
            | "Bands" >> beam.FlatMap(hash_bands, self.bands)
            | "GroupByBand" >> beam.GroupByKey()
            | "ClosePairs" >> beam.FlatMap(bucket_edges, self.threshold, self.max_bucket)
        )
        found = (by_photo, by_hash) | "AllEdgeOutcomes" >> beam.Flatten() | "SplitEdges" >> SplitByType(
            edges=Edge, tallies=tuple)
        edges = found["edges"] | "EdgeTuples" >> beam.Map(Edge.as_tuple) | "OneEdgePerPair" >> beam.Distinct()
        ends = edges | "EdgeEnds" >> beam.FlatMap(edge_ends)
        nodes = samples | "Nodes" >> beam.Map(node_of)
        linked = {"edges": ends, "nodes": nodes} | "JoinEdgeEnds" >> beam.CoGroupByKey() | "LinkedNodes" >> beam.FlatMap(linked_node)
        resolved = (
            (linked, edges | "EdgeItems" >> beam.Map(as_edge_item))
            | "GraphItems" >> beam.Flatten()
            | "GatherGraph" >> beam.GroupByKey()
            | "ResolveClusters" >> beam.FlatMap(resolve_clusters, self.max_clustered, self.threshold)
        )
        parts = resolved | "SplitResolved" >> SplitByType(lines=dict, rest=tuple)
        always = samples.pipeline | "LeaksFileEvenIfEmpty" >> beam.Create([("leaks", None)])  # no clusters: an empty file
        written = (
            (parts["lines"] | "KeyLeaks" >> beam.Map(keyed_line), always)
            | "LeakLines" >> beam.Flatten()
            | "GatherLeaks" >> beam.GroupByKey()
            | "WriteLeaks" >> beam.ParDo(WriteLeaksFile(self.output))
        )
        pair_tallies = edges | "CountPairs" >> beam.Map(pair_tally)
        tallies = (
            (found["tallies"], parts["rest"] | "OnlyTallies" >> beam.Filter(is_tally), written, pair_tallies)
            | "LeakTallies" >> beam.Flatten()
        )
        clusters = parts["rest"] | "OnlyAssignments" >> beam.Filter(is_assignment)
        return {"clusters": clusters, "tallies": tallies}


# --------------------------------------------------------------------------- the policy


def apply_policy(sample: Sample, clusters: Mapping[str, tuple[str, str]], policy: str) -> Sample:
    """The sample with its cluster's split and cause; under ``merge`` it moves to that split."""
    found = clusters.get(sample.key)
    if found is None:
        return sample
    target, cause = found
    split = target if policy == "merge" else sample.split
    return replace(sample, split=split, cluster_split=target, cluster_cause=cause)


class ApplySplitPolicy(beam.PTransform):
    """Samples -> samples in their cluster's most held-out split (``merge``) or as published (``report``)."""

    def __init__(self, policy: str) -> None:
        super().__init__()
        if policy not in POLICIES:
            raise ValueError(f"split policy {policy!r} is not one of {POLICIES}")
        self.policy = policy

    def expand(self, inputs: tuple[beam.PCollection, beam.PCollection]) -> beam.PCollection:
        samples, clusters = inputs
        return samples | "ApplyPolicy" >> beam.Map(apply_policy, beam.pvalue.AsDict(clusters), self.policy)


def move_tallies(sample: Sample) -> Iterator[Tally]:
    """Records moved to a more held-out split, per dataset and cause; under ``report``, those that leak."""
    face_split = sample.face_split
    for record in sample.records:
        if record.split != sample.split:
            cause = sample.cluster_cause if sample.split != face_split and sample.cluster_cause else SAME_FACE
            yield ("datasets", record.dataset, "moved", cause), 1
        elif sample.cluster_split and sample.cluster_split != sample.split:
            yield ("datasets", record.dataset, "leaking", sample.cluster_cause), 1

