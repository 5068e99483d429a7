"""TokenizeFaces: the VQGAN codes of every unique face, from the token cache or encoded in batches.

It works on the samples of one shard at a time (they are grouped by shard for writing anyway, so
this costs no extra shuffle; a shard is a contiguous range of sorted keys, so it touches few cache
buckets). For one shard the DoFn reads the cache buckets its keys fall in, reloads the faces that
miss (and, with --keep-images, every face, to store its JPEG), encodes the misses in batches, adds
them to the cache and yields the shard's samples with their codes. Batches are formed inside
`process` from the group, not across bundles with `finish_bundle`: on Beam's DaskRunner (2.77)
output emitted in `finish_bundle` is lost, and group-based batches are the same on every runner.
The tokenizer is loaded once per worker process (`shared_tokenizer`). Encoding is deterministic:
fp32 on CPU gives the same codes whatever the batch composition; on CUDA batches are padded to a
fixed size so kernels see one shape.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import apache_beam as beam
import numpy as np

from model.tokenizers.faces import MAX_PIXELS, FaceError, encode_jpeg, load_face
from pipeline.cache import TokenCache, bucket_of
from pipeline.config import TokenizerSpec
from pipeline.meter import StageMeter, counter
from pipeline.samples import Sample
from schemas import TokenizerInfo, sample_key
from schemas.sample import SampleError

_TOKENIZERS: dict[TokenizerSpec, Any] = {}
_TOKENIZERS_LOCK = threading.Lock()


def shared_tokenizer(spec: TokenizerSpec) -> Any:
    """The tokenizer of `spec`, built once per process and shared by every DoFn instance and thread."""
    with _TOKENIZERS_LOCK:
        if spec not in _TOKENIZERS:
            tokenizer = spec.build()
            try:  # any grid and codebook the uint16 codes hold: each sample records them (schemas/sample.py)
                TokenizerInfo.of(tokenizer)
            except SampleError as err:
                raise ValueError(f"the tokenizer ({spec.describe()}) cannot make corpus codes: {err}") from err
            _TOKENIZERS[spec] = tokenizer
        return _TOKENIZERS[spec]


def encode_faces(tokenizer: Any, pixels: np.ndarray, batch_size: int, pad: bool) -> np.ndarray:
    """Codes of (B, 256, 256, 3) faces; with `pad`, every forward pass sees exactly `batch_size` images."""
    if not pad or len(pixels) % batch_size == 0:
        return tokenizer.encode(pixels, batch_size=batch_size)
    filler = np.zeros((batch_size - len(pixels) % batch_size, *pixels.shape[1:]), dtype=pixels.dtype)
    return tokenizer.encode(np.concatenate([pixels, filler]), batch_size=batch_size)[: len(pixels)]


class EncodeShard(beam.DoFn):
    """(shard, samples) -> (shard, samples in key order with `tokens` and `jpg`): cached codes reused, new ones cached."""

    def __init__(
        self,
        tokenizer: TokenizerSpec,
        cache_url: str | None,
        keep_images: bool = False,
        max_pixels: int | None = None,
        load_threads: int = 4,
        progress_every: int = 1000,
    ) -> None:
        self.spec = tokenizer
        self.cache_url = cache_url
        self.keep_images = keep_images
        self.max_pixels = max_pixels or MAX_PIXELS
        self.load_threads = load_threads
        self.progress_every = progress_every

    def setup(self) -> None:
        self.tokenizer = shared_tokenizer(self.spec)
        self.info = TokenizerInfo.of(self.tokenizer)
        self.cache = (TokenCache(self.cache_url, self.tokenizer.fingerprint, self.info.tokens_per_face)
                      if self.cache_url else None)
        self.batch_size = self.spec.batch_size or self.tokenizer.batch_size
        self.pad = self.tokenizer.device.type == "cuda"
        self.pool = ThreadPoolExecutor(max_workers=max(1, self.load_threads), thread_name_prefix="load-face")
        self.meter = StageMeter("TokenizeFaces", "faces", self.progress_every)
        self.encoded, self.cached = counter("TokenizeFaces.encoded"), counter("TokenizeFaces.cached")

    def teardown(self) -> None:
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.shutdown(wait=False)

    def process(self, element: tuple[str, Iterable[Sample]]) -> Iterator[tuple[str, list[Sample]]]:
        shard, samples = element
        with self.meter.timed():
            done = self.tokenize(sorted(samples, key=lambda s: s.key))
        self.meter.add(len(done))
        yield shard, done

    def tokenize(self, samples: list[Sample]) -> list[Sample]:
        """The samples with codes: from the cache where it has them, else reloaded and encoded in batches."""
        cached = self.cache.read_buckets({bucket_of(s.key) for s in samples}) if self.cache is not None else {}
        tokens: dict[str, np.ndarray] = {s.key: cached[s.key] for s in samples if s.key in cached}
        jpgs: dict[str, bytes] = {}
        new: dict[str, np.ndarray] = {}
        reload = [s for s in samples if self.keep_images or s.key not in tokens]
        for start in range(0, len(reload), self.batch_size):
            chunk = reload[start : start + self.batch_size]
            pixels = list(self.pool.map(self.reload, chunk))
            missing = [i for i, s in enumerate(chunk) if s.key not in tokens]
            if missing:
                codes = encode_faces(self.tokenizer, np.stack([pixels[i] for i in missing]), self.batch_size, self.pad)
                new.update((chunk[i].key, code) for i, code in zip(missing, codes, strict=True))
            if self.keep_images:
                jpgs.update((s.key, encode_jpeg(p)) for s, p in zip(chunk, pixels, strict=True))
        tokens.update(new)
        if self.cache is not None:
            self.cache.add(new)
        self.encoded.inc(len(new))
        self.cached.inc(len(samples) - len(new))
        fingerprint = self.tokenizer.fingerprint
        return [
            replace(s, tokens=np.asarray(tokens[s.key], dtype=np.uint16), jpg=jpgs.get(s.key),
                    encoded=s.key in new, tokenizer=fingerprint, tokenizer_info=self.info)
            for s in samples
        ]

    def reload(self, sample: Sample) -> np.ndarray:
        """The face of a sample, decoded again from its first record; it must hash to the sample's key."""
        record = sample.first
        try:
            pixels = load_face(record.image, record.box, max_pixels=self.max_pixels)
        except FaceError as err:
            raise RuntimeError(
                f"{record.source_path} loaded earlier in this build but now fails ({err}); was the input "
                "changed during the build? Rerun the build on a stable copy"
            ) from err
        if sample_key(pixels) != sample.key:
            raise RuntimeError(
                f"{record.source_path} decodes to different pixels than earlier in this build (key "
                f"{sample_key(pixels)} != {sample.key}); was the file changed during the build? Rerun the build"
            )
        return pixels


class TokenizeFaces(beam.PTransform):
    """(shard, samples) groups -> (shard, samples with VQGAN codes, and JPEGs with `keep_images`)."""

    def __init__(
        self,
        tokenizer: TokenizerSpec,
        cache_url: str | None,
        keep_images: bool = False,
        max_pixels: int | None = None,
        progress_every: int = 1000,
    ) -> None:
        super().__init__()
        self.encode = EncodeShard(tokenizer, cache_url, keep_images, max_pixels, progress_every=progress_every)

    def expand(self, shards: beam.PCollection) -> beam.PCollection:
        return shards | "Encode" >> beam.ParDo(self.encode)
