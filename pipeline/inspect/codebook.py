"""Codebook usage: how many of the 1,024 VQGAN codes the corpus uses, from the token cache or the shards."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.inspect.corpus import DEFAULT_MAX_SHARDS, Corpus, InspectError, load_tokens, open_stream
from schemas.cache import row_dtype
from schemas.sample import CODEBOOK_SIZE, SampleError, validate_tokens
from schemas.shard import TarDamage, iter_members, shard_file
from schemas.stats import Stats


def _evenly(items: Sequence[Any], n: int) -> list[Any]:
    """`n` items evenly spread over `items` (first and last included); all of them when n is 0 or enough."""
    if not n or len(items) <= n:
        return list(items)
    return [items[i] for i in sorted({int(round(x)) for x in np.linspace(0, len(items) - 1, n)})]


def find_token_cache(corpus: Corpus, stats: Stats | None, url: str | None = None) -> str | None:
    """The token-cache folder holding the corpus's codes, or None.

    The pipeline caches codes under ``<cache>/<tokenizer fingerprint>/<bucket>/<segment>.npy`` (``<cache>``
    defaults to ``OUT/cache``); the fingerprint is the one stats.json's ``tokens.fingerprints`` counts
    most samples for, or the cache's only one.
    """
    fs, root = (corpus.fs, corpus.path("cache")) if url is None else _url_to_fs(url)
    if not fs.isdir(root):
        return None
    fingerprints = stats["tokens"].get("fingerprints") if stats else None
    if fingerprints:
        best = max(fingerprints, key=lambda f: (fingerprints[f], f))
        folder = f"{root.rstrip('/')}/{best}"
        return str(fs.unstrip_protocol(folder)) if fs.isdir(folder) else None
    found = [p for p in fs.ls(root, detail=False) if fs.isdir(p)]
    return str(fs.unstrip_protocol(found[0])) if len(found) == 1 else None


def _url_to_fs(url: str) -> tuple[Any, str]:
    import fsspec

    return fsspec.core.url_to_fs(url)


def codebook_usage(
    corpus: Corpus,
    max_shards: int = DEFAULT_MAX_SHARDS,
    *,
    cache: str | None = None,
    keys: pa.Array | pa.ChunkedArray | None = None,
) -> dict[str, Any]:
    """How many of the 1,024 codes the image tokens use, and their entropy.

    From the token cache folder `cache` when given (only the codes of `keys`, the corpus's sample keys,
    each once), else from the shards' tokens.npy members. Reads everything when `max_shards` is 0;
    else `max_shards` shards evenly spaced over the sorted shard list, or the same share of the
    cache's buckets (a deterministic sample). Damaged shards and bad arrays are counted and skipped.
    """
    paths = corpus.shard_paths()
    counts = np.zeros(CODEBOOK_SIZE, dtype=np.int64)
    out: dict[str, Any] = {"source": "shards", "shards_total": len(paths), "samples": 0, "bad_samples": 0,
                           "damaged_shards": []}
    if cache is not None:
        fs, root = _url_to_fs(cache)
        buckets = sorted(p for p in fs.ls(root, detail=False) if fs.isdir(p))
        share = max_shards / len(paths) if max_shards and len(paths) > max_shards else 1.0
        chosen = _evenly(buckets, math.ceil(share * len(buckets)) if share < 1 else 0)
        wanted = pc.unique(keys) if keys is not None else None
        seen: set[str] = set()
        for bucket in chosen:
            for segment in sorted(fs.glob(f"{bucket}/*.npy")):
                try:
                    with fs.open(segment, "rb") as f:
                        rows = np.load(io.BytesIO(f.read()), allow_pickle=False)
                    if rows.dtype.names != ("key", "tokens") or rows.dtype != row_dtype(*rows.dtype["tokens"].shape[:1]):
                        raise ValueError(f"dtype {rows.dtype}, expected {row_dtype()} (any codes per face)")
                except (OSError, ValueError, EOFError) as err:
                    out["damaged_shards"].append(f"cache segment {segment}: {err}")
                    continue
                keep = np.arange(len(rows))
                if wanted is not None:  # only the corpus's faces: a cache may hold those of other builds
                    keep = np.flatnonzero(pc.is_in(pa.array(rows["key"]), value_set=wanted).to_numpy(
                        zero_copy_only=False))
                fresh = []
                for i, name in zip(keep.tolist(), rows["key"][keep].tolist()):
                    if name not in seen:  # a face cached by two builds counts once
                        seen.add(name)
                        fresh.append(i)
                tokens = rows["tokens"][fresh]
                bad = tokens.max(axis=1, initial=0) >= CODEBOOK_SIZE
                out["bad_samples"] += int(bad.sum())
                counts += np.bincount(tokens[~bad].reshape(-1), minlength=CODEBOOK_SIZE)
                out["samples"] += int((~bad).sum())
        out.update(source=f"token cache {cache}", buckets_read=len(chosen), buckets_total=len(buckets),
                   shards_read=0)
    else:
        chosen = _evenly(paths, max_shards)
        batch: list[np.ndarray] = []
        for path in chosen:
            try:
                with open_stream(corpus, path) as stream:
                    for member in iter_members(stream, lambda name: name.endswith(".tokens.npy")):
                        if member.data is None:
                            continue
                        try:
                            tokens = load_tokens(member.data)
                            validate_tokens(tokens, member.name)
                        except (SampleError, ValueError, OSError, EOFError):
                            out["bad_samples"] += 1
                            continue
                        batch.append(tokens)
                        out["samples"] += 1
                        if len(batch) >= 4096:
                            counts += np.bincount(np.concatenate(batch), minlength=CODEBOOK_SIZE)
                            batch = []
            except (TarDamage, OSError) as err:
                out["damaged_shards"].append(f"{shard_file(path)}: {err}")
        if batch:
            counts += np.bincount(np.concatenate(batch), minlength=CODEBOOK_SIZE)
        out["shards_read"] = len(chosen)
    total = int(counts.sum())
    p = counts[counts > 0] / total if total else np.zeros(0)
    entropy = float(-(p * np.log2(p)).sum()) if total else 0.0
    order = np.argsort(-counts, kind="stable")
    out.update({
        "codebook_size": CODEBOOK_SIZE,
        "used": int((counts > 0).sum()),
        "entropy_bits": round(entropy, 3),
        "max_entropy_bits": round(math.log2(CODEBOOK_SIZE), 3),
        "perplexity": round(2.0**entropy, 1) if total else 0.0,
        "top": [[int(c), int(counts[c])] for c in order[:10] if counts[c] > 0],
        "top10_share_pct": round(100.0 * counts[order[:10]].sum() / total, 2) if total else 0.0,
        "counts": counts.tolist(),
    })
    return out



def corpus_codebook(corpus: Corpus, stats: Stats | None, max_shards: int, tokens: str,
              token_cache: str | None, keys: pa.ChunkedArray) -> dict[str, Any] | None:
    if max_shards < 0:
        return None
    cache = find_token_cache(corpus, stats, token_cache) if tokens in ("auto", "cache") else None
    if cache is None and tokens == "cache":
        where = token_cache or corpus.path("cache")
        raise InspectError(f"no token cache of this corpus's tokenizer under {where}; pass --token-cache URL "
                           "or read the shards (--tokens shards)")
    return codebook_usage(corpus, max_shards, cache=cache, keys=keys)

