"""The files that let other tools load a build: the wids shard index, Croissant metadata, Hugging Face features.

All three are written under OUT by every build (pipeline/publish.py), beside the dataset card
(schemas/card.py); they describe the shards and manifest whose formats are schemas/shard.py,
schemas/sample.py and schemas/manifest.py.

* ``OUT/<split>.wids.json``: a `wids.ShardListDataset` description (wids_version 1): the split's
  shards as URLs relative to OUT, each with its sample count, so ``ShardListDataset(path)`` gives
  random access to the samples (`wids_index`).
* ``OUT/croissant.json``: Croissant 1.0 JSON-LD (`croissant`): one FileSet per split for the
  shards, one for the manifest parts, and a RecordSet of the manifest's columns.
* the Hugging Face ``features`` of a sample (`hf_features`), in the YAML form a dataset card's
  ``dataset_info.features`` takes. Hugging Face's webdataset builder infers a sample's JSON struct
  from the first five samples of the first shard and silently drops every label it did not see
  there (FairFace labels in a CelebA-first shard read back as None): passing these features, or
  loading OUT as a folder (its README.md carries them), keeps every dataset's labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from schemas.manifest import MANIFEST_SCHEMA
from schemas.records import SPLITS

WIDS_SUFFIX = ".wids.json"
CROISSANT_FILE = "croissant.json"
CROISSANT_CONFORMS_TO = "http://mlcommons.org/croissant/1.0"


def wids_file(split: str) -> str:
    """``train.wids.json``: the wids index of a split, directly under OUT."""
    return f"{split}{WIDS_SUFFIX}"


def shard_glob(split: str) -> str:
    """The shards of a split relative to OUT: ``shards/train-*.tar`` (never the ``.idx.json`` beside them)."""
    return f"shards/{split}-*.tar"


def wids_index(name: str, shards: Sequence[tuple[str, int]]) -> bytes:
    """A wids dataset description: `shards` as (URL relative to the index's folder, sample count)."""
    doc = {"wids_version": 1, "name": name,
           "shardlist": [{"url": url, "nsamples": n} for url, n in shards]}
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- Hugging Face features

_PY_TO_HF = {bool: "bool", int: "int64", float: "float64", str: "string"}


def label_dtypes(rows: Iterable[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """(dataset, labels JSON) manifest rows -> dataset -> label key -> HF dtype (ints and floats: float64)."""
    seen: dict[str, dict[str, set[str]]] = {}
    for dataset, labels in rows:
        for key, value in json.loads(labels).items():
            kind = _PY_TO_HF.get(type(value), "string")
            seen.setdefault(dataset, {}).setdefault(key, set()).add(kind)
    out: dict[str, dict[str, str]] = {}
    for dataset in sorted(seen):
        out[dataset] = {}
        for key in sorted(seen[dataset]):
            kinds = seen[dataset][key]
            out[dataset][key] = kinds.pop() if len(kinds) == 1 else ("float64" if kinds <= {"int64", "float64"} else "string")
    return out


def _strings(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "dtype": "string"} for n in names]


def hf_features(labels: Mapping[str, Mapping[str, str]], images: bool) -> list[dict[str, Any]]:
    """A sample's fields as Hugging Face features (``Features._to_yaml_list`` form), for the webdataset builder.

    Field names are the member extensions (``tokens.npy``, ``json``, ``jpg``); the JSON's struct is
    schemas/sample.py's, with `labels` (`label_dtypes`) giving every dataset's label types.
    """
    label_struct = [{"name": d, "struct": [{"name": k, "dtype": t} for k, t in sorted(keys.items())]}
                    for d, keys in sorted(labels.items())]
    meta = [
        {"name": "key", "dtype": "string"},
        {"name": "labels", "struct": label_struct} if label_struct else {"name": "labels", "dtype": "null"},
        {"name": "sources", "list": _strings("dataset", "person_id", "photo_id", "source_id", "source_path", "split")},
        {"name": "split", "dtype": "string"},
        {"name": "texts", "list": _strings("dataset", "kind", "text")},
    ]
    fields: list[dict[str, Any]] = [{"name": "jpg", "dtype": "image"}] if images else []
    fields += [{"name": "json", "struct": meta}, {"name": "tokens.npy", "list": "uint16"},
               *_strings("__key__", "__url__")]
    return fields


# --------------------------------------------------------------------------- Croissant

CROISSANT_CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract", "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path",
    "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField",
    "transform": "cr:transform", "samplingRate": "cr:samplingRate", "equivalentProperty": "cr:equivalentProperty",
}
MANIFEST_RECORDS = "manifest"
_COLUMN_DESCRIPTIONS = {
    "key": "the sample key (content hash of the 256x256 face), the WebDataset __key__",
    "shard": "the shard stem that holds the sample (shards/<shard>.tar)",
    "split": "the split of the sample that holds this text",
    "dataset": "the dataset the text comes from",
    "kind": "attributes or caption",
    "text": "the text",
    "source_id": "the record's id as its dataset writes it",
    "source_path": "the image path relative to the input root",
    "labels": "the dataset's typed labels of this record, as JSON",
    "photo_id": "the photo this face was cropped from, when the dataset says (null otherwise)",
    "person_id": "the person, when the dataset says (null otherwise)",
}


def croissant(name: str, description: str, version: str, licenses: Sequence[str], cite_as: str, url: str,
              splits: Sequence[str]) -> dict[str, Any]:
    """Croissant 1.0 metadata of a build: FileSets for the shards of each split and the manifest, and a
    RecordSet with one field per manifest column (schemas/manifest.py)."""
    distribution: list[dict[str, Any]] = [
        {"@type": "cr:FileSet", "@id": f"shards-{split}", "name": f"shards-{split}",
         "description": f"WebDataset tar shards of the {split} split: <key>.tokens.npy, <key>.json, <key>.jpg",
         "encodingFormat": "application/x-tar", "includes": shard_glob(split)}
        for split in sorted(splits, key=lambda s: SPLITS.index(s) if s in SPLITS else 99)
    ]
    distribution.append({"@type": "cr:FileSet", "@id": "manifest-parts", "name": "manifest-parts",
                         "description": "the Parquet manifest: one row per (sample, text)",
                         "encodingFormat": "application/x-parquet", "includes": "manifest/*.parquet"})
    fields = [
        {"@type": "cr:Field", "@id": f"{MANIFEST_RECORDS}/{f.name}", "name": f.name,
         "description": _COLUMN_DESCRIPTIONS.get(f.name, f.name), "dataType": "sc:Text",
         "source": {"fileSet": {"@id": "manifest-parts"}, "extract": {"column": f.name}}}
        for f in MANIFEST_SCHEMA
    ]
    return {
        "@context": CROISSANT_CONTEXT, "@type": "sc:Dataset", "name": name, "description": description,
        "conformsTo": CROISSANT_CONFORMS_TO, "version": version, "license": list(licenses), "url": url,
        "citeAs": cite_as, "distribution": distribution,
        "recordSet": [{"@type": "cr:RecordSet", "@id": MANIFEST_RECORDS, "name": MANIFEST_RECORDS,
                       "description": "the manifest's rows", "field": fields}],
    }
