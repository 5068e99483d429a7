"""The token cache: VQGAN codes of faces already tokenised, keyed by (face key, tokenizer fingerprint).

Layout: ``<cache>/<fingerprint>/<bucket>/<segment>.npy``, where ``bucket`` is the first
`schemas.cache.BUCKET_DIGITS` hex digits of the face key and a segment is one structured ``.npy`` array of
``(key, tokens)`` rows written by one build for one bucket. Segments are immutable and named by
the hash of their rows, so a retried write gives the same file and concurrent builds never
clash; a rebuild reads a bucket's segments once and adds one segment per bucket with the faces it
had to encode. Per-bucket segments keep the file count small on object stores (4,096 buckets, not one
file per face). Another tokenizer has another fingerprint, so its codes never mix with these.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable, Mapping

import fsspec
import numpy as np

from pipeline.files import list_files, write_bytes
from schemas.cache import bucket_of, row_dtype

logger = logging.getLogger(__name__)

class TokenCache:
    """Codes of one tokenizer under one cache URL."""

    def __init__(self, url: str, fingerprint: str, tokens_per_face: int = 256) -> None:
        self.url = f"{url.rstrip('/')}/{fingerprint}"
        self.fingerprint = fingerprint
        self.row = row_dtype(tokens_per_face)

    def folder(self, bucket: str) -> str:
        return f"{self.url}/{bucket}"

    def read(self, bucket: str) -> dict[str, np.ndarray]:
        """Every cached code of a bucket: face key -> uint16 (256,). Unreadable segments are skipped with a warning."""
        found: dict[str, np.ndarray] = {}
        for url in list_files(self.folder(bucket), ".npy"):
            try:
                with fsspec.open(url, "rb") as f:
                    rows = np.load(io.BytesIO(f.read()), allow_pickle=False)
                if rows.dtype != self.row:
                    raise ValueError(f"dtype {rows.dtype}, expected {self.row}")
            except (OSError, ValueError) as err:
                logger.warning("token cache segment %s is unreadable (%s); its faces are encoded again", url, err)
                continue
            for key, tokens in zip(rows["key"].tolist(), rows["tokens"], strict=True):
                found[key] = tokens
        return found

    def read_buckets(self, buckets: Iterable[str]) -> dict[str, np.ndarray]:
        """Every cached code of several buckets."""
        found: dict[str, np.ndarray] = {}
        for bucket in sorted(set(buckets)):
            found.update(self.read(bucket))
        return found

    def add(self, codes: Mapping[str, np.ndarray]) -> list[str]:
        """Add codes (face key -> uint16 (256,)) as one new segment per bucket they fall in; returns the URLs."""
        by_bucket: dict[str, dict[str, np.ndarray]] = {}
        for key, tokens in codes.items():
            by_bucket.setdefault(bucket_of(key), {})[key] = tokens
        return [url for bucket in sorted(by_bucket) if (url := self.write(bucket, by_bucket[bucket])) is not None]

    def write(self, bucket: str, codes: Mapping[str, np.ndarray]) -> str | None:
        """Add a segment with `codes` (face key -> uint16 (256,)) to a bucket; returns its URL (None if empty)."""
        if not codes:
            return None
        keys = sorted(codes)
        if any(bucket_of(k) != bucket for k in keys):
            raise ValueError(f"token cache bucket {bucket}: keys of other buckets given")
        rows = np.zeros(len(keys), dtype=self.row)
        rows["key"] = keys
        rows["tokens"] = np.stack([np.asarray(codes[k], dtype=np.uint16) for k in keys])
        buf = io.BytesIO()
        np.save(buf, rows, allow_pickle=False)
        data = buf.getvalue()
        url = f"{self.folder(bucket)}/{hashlib.sha256(data).hexdigest()[:16]}.npy"
        write_bytes(url, data)
        return url
