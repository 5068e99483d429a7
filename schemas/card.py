"""The dataset card, ``OUT/README.md``: a Hugging Face card (YAML front matter + prose) made from stats.json.

Every build writes it (pipeline/publish.py) from its stats.json and nothing else but the facts a
stats document does not hold (`Provenance`: the command line, project version, git commit, runner;
the shards' sample counts; the Hugging Face features, schemas/catalog.py). The sources and their
terms come from stats.json's ``build.sources`` (schemas/source.py), the datasets left out by
``--accept-terms`` from ``build.left_out_by_terms``.

Front matter: ``pretty_name``, ``license`` (the Hugging Face ids of the sources' terms; ``other``
with ``license_name`` / ``license_link`` for research-only terms), ``task_categories``,
``size_categories``, ``tags``, ``configs`` (one ``data_files`` entry per split, ``shards/<split>-*.tar``,
so ``load_dataset(OUT)`` uses the webdataset builder and never the ``.idx.json`` indexes) and
``dataset_info`` (features, and each split's ``num_examples``). Prose sections, in order: contents
(per split; per dataset and kind), the tokenizer, loading snippets, how it was built, sources by
terms with citations, filters and rejects by reason, known caveats.

`card_problems(text, stats)` reads a card back and lists where it contradicts stats.json (split
sizes, per-dataset counts, sources); the build refuses to write a card that does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from schemas.catalog import shard_glob, wids_file
from schemas.sample import CODEBOOK_SIZE, TOKENS_PER_IMAGE
from schemas.source import TERMS_CLASSES

CARD_FILE = "README.md"
PRETTY_NAME = "Talk2Face corpus (rebuilt)"
TASK_CATEGORIES = ("text-to-image", "image-to-text", "image-classification")
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
          (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))
_TABLE_HEAD = "| dataset | kind | read | written | filtered | rejected | pairs |"


class CardError(ValueError):
    """A dataset card that would contradict stats.json; the message lists every contradiction."""


@dataclass(frozen=True)
class Provenance:
    """How a build ran: what stats.json does not record (it would differ between identical builds)."""

    command: str = ""  # the command line, as typed
    version: str = "unknown"  # the project's version
    commit: str | None = None  # its git commit, when run from a checkout
    runner: str = "DirectRunner"


def size_category(n: int) -> str:
    for limit, name in _SIZES:
        if n < limit:
            return name
    return "n>100M"


def tokenizer_facts(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The tokenizer as the card shows it: kind, fingerprints, codebook size, tokens per face, grid side.

    From stats.json's ``tokens.tokenizer`` (schemas/stats.py); a stats.json written before builds
    recorded it gives the build's tokenizer setting and the f=16 shard format's sizes, marked as such.
    """
    tokens = stats.get("tokens", {})
    recorded = tokens.get("tokenizer") or {}
    return {
        "kind": recorded.get("kind") or stats.get("build", {}).get("tokenizer", "unknown"),
        "fingerprints": dict(tokens.get("fingerprints", {})),
        "codebook_size": recorded.get("codebook_size", CODEBOOK_SIZE),
        "tokens_per_face": recorded.get("tokens_per_face", TOKENS_PER_IMAGE),
        "grid_side": recorded.get("grid_side"),
        "sizes_from": "stats.json" if recorded else "the shard format (schemas/sample.py); stats.json does not record them",
    }


def _licenses(sources: Mapping[str, Mapping[str, str]]) -> list[str]:
    return sorted({TERMS_CLASSES[s["terms_class"]][1] for s in sources.values()})


def front_matter(stats: Mapping[str, Any], features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    sources = stats["build"].get("sources", {})
    licenses = _licenses(sources)
    splits = list(stats["splits"])
    doc: dict[str, Any] = {"pretty_name": PRETTY_NAME, "license": licenses}
    if "other" in licenses:
        doc["license_name"] = "per-source-terms"
        doc["license_link"] = "README.md#sources-and-terms"
    doc |= {
        "task_categories": list(TASK_CATEGORIES),
        "size_categories": [size_category(stats["totals"]["samples"])],
        "tags": ["faces", "webdataset", "text-to-face", "talk2face"],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": shard_glob(s)} for s in splits]}],
        "dataset_info": {"features": [dict(f) for f in features],
                         "splits": [{"name": s, "num_examples": stats["splits"][s]["samples"],
                                     "num_bytes": stats["splits"][s].get("bytes", 0)} for s in splits]},
    }
    return doc


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    return lines + ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]


def render_card(stats: Mapping[str, Any], provenance: Provenance, features: Sequence[Mapping[str, Any]]) -> str:
    """The card's text (see the module docstring) for a checked stats document."""
    build = stats["build"]
    sources: Mapping[str, Mapping[str, str]] = build.get("sources", {})
    out = ["---", yaml.safe_dump(front_matter(stats, features), sort_keys=False, allow_unicode=True).rstrip(), "---", ""]
    t = stats["totals"]
    out += [f"# {PRETTY_NAME}", "",
            f"{t['samples']} unique faces with {t['pairs']} texts from {len(stats['datasets'])} face datasets, as "
            "WebDataset shards (`<key>.tokens.npy`: the face's image tokens, `<key>.json`: its texts, labels and "
            "provenance, `<key>.jpg` when kept), a Parquet manifest (one row per face and text) and stats.json. "
            "Built by the talk2face-corpus pipeline; every source keeps its own terms (below).", ""]
    out += ["## Contents", "", "Per split:", ""]
    out += _table(("split", "samples", "shards", "bytes"),
                  [(s, v["samples"], v["shards"], v.get("bytes", 0)) for s, v in stats["splits"].items()])
    out += ["", "Per dataset (records; `pairs` are texts):", "", _TABLE_HEAD, "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, d in stats["datasets"].items():
        kind = sources.get(name, {}).get("text_kind", "?")
        out.append(f"| {name} | {kind} | {d['read']} | {d['written']} | {d['filtered_total']} | "
                   f"{d['rejected_total']} | {d['pairs']} |")
    out.append(f"| total | | {t['read']} | {t['written']} | {t['filtered_total']} | {t['rejected_total']} | {t['pairs']} |")
    tok = tokenizer_facts(stats)
    prints = ", ".join(f"`{k}` ({v} faces)" for k, v in tok["fingerprints"].items()) or "none recorded"
    out += ["", "## Tokenizer", "", f"* kind: {tok['kind']}", f"* fingerprint(s): {prints}",
            f"* codebook: {tok['codebook_size']} codes; tokens per face: {tok['tokens_per_face']}"
            + (f" ({tok['grid_side']}x{tok['grid_side']} grid)" if tok["grid_side"] else "")
            + f" (from {tok['sizes_from']})", ""]
    out += loading_section(list(stats["splits"]))
    out += ["## How it was built", "", f"* command: `{provenance.command or '(the Python API: pipeline.run_build)'}`",
            f"* talk2face-corpus {provenance.version}" + (f", git commit `{provenance.commit}`" if provenance.commit else
                                                          ", git commit unknown (not run from a checkout)"),
            f"* runner: {provenance.runner}"]
    for key in ("samples_per_shard", "keep_images", "limit", "split_policy", "near_dup_threshold", "accept_terms"):
        if key in build:
            out.append(f"* {key.replace('_', ' ')}: {build[key]}")
    if build.get("skipped_datasets"):
        out.append(f"* asked for but absent from the input: {', '.join(build['skipped_datasets'])}")
    out += ["", "## Sources and terms", "",
            "Terms as each dataset's own page states them, recorded in its converter and not re-checked online: "
            "read them at the link before using the data.", ""]
    by_class: dict[str, list[str]] = {}
    for key in sorted(sources):
        by_class.setdefault(sources[key]["terms_class"], []).append(key)
    for cls in sorted(by_class):
        out += [f"### {cls}: {TERMS_CLASSES[cls][0]}", ""]
        out += _table(("dataset", "source", "terms", "stated at"),
                      [(k, f"[{sources[k]['name']}]({sources[k]['homepage']})", sources[k]["terms"],
                        sources[k]["terms_url"]) for k in by_class[cls]])
        out.append("")
    undeclared = sorted(set(stats["datasets"]) - set(sources))
    if undeclared:
        out += [f"**No declared source or terms**: {', '.join(undeclared)} (their converters declare none).", ""]
    left_out = build.get("left_out_by_terms", {})
    if left_out:
        out += [f"Left out by `--accept-terms {','.join(build.get('accept_terms') or [])}`:", ""]
        out += [f"* {k}: {why}" for k, why in sorted(left_out.items())] + [""]
    out += ["### Citations", "", "```bibtex"]
    out += [sources[k]["citation"].strip() for k in sorted(sources)] + ["```", ""]
    out += ["## Filters and rejects", ""]
    rows = [(name, what, reason, n) for name, d in stats["datasets"].items()
            for what in ("filtered", "rejected") for reason, n in sorted(d[what].items())]
    out += _table(("dataset", "outcome", "reason", "records"), rows) if rows else ["None: every record read was written."]
    out += ["", "Rejected records are listed one per line in `rejects/<dataset>.jsonl`.", ""]
    out += caveats(stats)
    return "\n".join(out) + "\n"


def loading_section(splits: Sequence[str]) -> list[str]:
    split = "train" if "train" in splits else (splits[0] if splits else "train")
    return [
        "## Loading", "",
        "Hugging Face `datasets`, from this folder (the card's `configs` and `features` are used):", "",
        "```python", "from datasets import load_dataset", f'ds = load_dataset("OUT", split="{split}")',
        'row = ds[0]  # row["tokens.npy"]: image tokens, row["json"]: texts/labels, row["jpg"]: PIL image', "```", "",
        "With the webdataset builder and explicit files, pass the card's features: Hugging Face infers the JSON "
        "struct from the first shard's first five samples and drops labels of datasets not among them:", "",
        "```python", "import yaml", "from datasets import Features, load_dataset",
        'card = yaml.safe_load(open("OUT/README.md").read().split("---")[1])',
        'features = Features._from_yaml_list(card["dataset_info"]["features"])',
        f'ds = load_dataset("webdataset", data_files={{"{split}": "OUT/{shard_glob(split)}"}}, split="{split}", '
        "features=features)", "```", "",
        f"`wids` (random access; `OUT/{wids_file(split)}` lists the shards with their sample counts):", "",
        "```python", "import wids", f'ds = wids.ShardListDataset("OUT/{wids_file(split)}")',
        'sample = ds[0]  # {".tokens.npy": bytes, ".json": bytes, ...}', "```", "",
        "`webdataset` and plain `tarfile`:", "",
        "```python", "import webdataset as wds",
        f'for sample in wds.WebDataset("OUT/shards/{split}-{{000000..000009}}.tar", shardshuffle=False).decode():',
        '    tokens, meta = sample["tokens.npy"], sample["json"]', "", "import tarfile",
        f'with tarfile.open("OUT/shards/{split}-000000.tar") as tar:',
        "    names = tar.getnames()  # <key>.jpg, <key>.json, <key>.tokens.npy per sample", "```", "",
        "`OUT/croissant.json` describes the shards and the manifest in Croissant 1.0 (`mlcroissant`).", "",
    ]


def caveats(stats: Mapping[str, Any]) -> list[str]:
    leaks = stats.get("leaks", {})
    near = stats.get("near_duplicates", {})
    out = ["## Known caveats", ""]
    policy = leaks.get("policy") or stats["build"].get("split_policy", "merge")
    out.append(f"* split policy `{policy}`: " + (
        "a face shown by several records (the same image, photo or a near-duplicate) goes to its most held-out "
        "split, so no evaluation face is trained on" if policy == "merge" else
        "every record keeps its dataset's official split, so the same face may sit in train and test"))
    out.append(f"* {stats.get('split_conflicts', 0)} samples whose own records were in several splits")
    for name, d in stats["datasets"].items():
        moved = {k: v for k, v in d.get("moved", {}).items() if v}
        leaking = {k: v for k, v in d.get("leaking", {}).items() if v}
        if d.get("moved_to_held_out_split") or moved or leaking:
            causes = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted((moved or leaking).items()))
            verb = "moved to a more held-out split" if moved or d.get("moved_to_held_out_split") else "would move"
            out.append(f"* {name}: {d.get('moved_to_held_out_split', 0)} records {verb}" + (f" ({causes})" if causes else ""))
    if near:
        out.append(f"* near-duplicates: {near.get('pairs', 0)} pairs within {near.get('threshold')} of 64 perceptual-hash "
                   f"bits ({near.get('compared_pairs', 0)} pairs compared; {near.get('hot_buckets', 0)} buckets too "
                   "large to compare)")
    if leaks:
        out.append(f"* {leaks.get('clusters', 0)} clusters of samples joined by photo or near-duplicate, "
                   f"{leaks.get('clusters_across_splits', 0)} across splits (listed in `leaks.jsonl`)")
    return out + [""]


# --------------------------------------------------------------------------- reading back


def parse_card(text: str) -> tuple[dict[str, Any], str]:
    """A card's front matter (as data) and its prose; CardError when there is no front matter."""
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    if not match:
        raise CardError("the card has no YAML front matter between --- lines")
    return yaml.safe_load(match.group(1)) or {}, match.group(2)


def dataset_rows(prose: str) -> dict[str, tuple[int, ...]]:
    """The per-dataset table of a card's prose: dataset -> (read, written, filtered, rejected, pairs)."""
    rows: dict[str, tuple[int, ...]] = {}
    lines = prose.splitlines()
    if _TABLE_HEAD not in lines:
        return rows
    for line in lines[lines.index(_TABLE_HEAD) + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = tuple(int(c) for c in cells[2:7])
    return rows


def card_problems(text: str, stats: Mapping[str, Any]) -> list[str]:
    """Where a card contradicts stats.json, one message each; [] when it agrees."""
    meta, prose = parse_card(text)
    problems = []
    card_splits = {s["name"]: s["num_examples"] for s in meta.get("dataset_info", {}).get("splits", [])}
    stats_splits = {s: v["samples"] for s, v in stats["splits"].items()}
    if card_splits != stats_splits:
        problems.append(f"split sizes: the card says {card_splits}, stats.json {stats_splits}")
    rows = dataset_rows(prose)
    for name, d in stats["datasets"].items():
        want = (d["read"], d["written"], d["filtered_total"], d["rejected_total"], d["pairs"])
        if rows.get(name) != want:
            problems.append(f"dataset {name}: the card says {rows.get(name)}, stats.json (read, written, filtered, "
                            f"rejected, pairs) = {want}")
    extra = sorted(set(rows) - set(stats["datasets"]) - {"total"})
    if extra:
        problems.append(f"the card lists datasets stats.json does not: {', '.join(extra)}")
    licenses = _licenses(stats["build"].get("sources", {}))
    if sorted(meta.get("license") or []) != licenses:
        problems.append(f"license: the card says {meta.get('license')}, the sources' terms give {licenses}")
    return problems
