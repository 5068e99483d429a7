"""Benchmark of `talk2face inspect`: the summary over a synthetic 2M-row manifest, and validation throughput.

The manifest imitates the Talk2Face mix (attribute texts of nine datasets, ten captions per image
for the caption datasets, labels JSON per row) with made-up values; it is written once under
--workdir and reused. The summary is timed without shards (manifest and stats.json only: counts,
text lengths in WordPiece tokens, label distributions). Validation is timed on a small consistent
corpus of real shards (tokens, JSON and a JPEG per sample) and reported in samples/s.

    python bench/bench_inspect.py                 # 2,000,000 rows, 4,000 samples to validate
    python bench/bench_inspect.py --quick         # 200,000 rows, 1,000 samples
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.inspect.corpus import open_corpus  # noqa: E402
from pipeline.inspect.summary import summarize  # noqa: E402
from pipeline.inspect.validate import format_validation, validate_corpus  # noqa: E402
from schemas import (  # noqa: E402
    MANIFEST_SCHEMA,
    ShardSample,
    SourceRef,
    TextEntry,
    format_attributes,
    manifest_table,
    write_manifest,
)

# dataset -> (share of rows, kind); captions come 10 per image (1 for ffhq_text)
MIX = {
    "celeba": (0.09, "attributes"), "fairface": (0.04, "attributes"), "cacd": (0.07, "attributes"),
    "afad": (0.07, "attributes"), "imdb_wiki": (0.20, "attributes"), "affectnet": (0.12, "attributes"),
    "rafdb": (0.01, "attributes"), "expw": (0.04, "attributes"), "fs2k": (0.01, "attributes"),
    "mm_celeba_hq": (0.13, "caption"), "celeba_text_hq": (0.13, "caption"), "ffhq_text": (0.01, "caption"),
    "celeba_dialog": (0.08, "caption"),
}
WORDS = ("the a this person woman man has have is with and wears wearing young old smiling slightly mouth open "
         "hair black brown blond gray wavy straight bangs eyebrows arched bushy eyes narrow big nose pointy lips "
         "makeup heavy earrings necklace hat eyeglasses beard mustache goatee sideburns cheeks rosy high "
         "cheekbones chubby double chin oval face pale skin attractive receding hairline bald no at all").split()
RACES = ["white", "black", "east asian", "southeast asian", "indian", "middle eastern", "latino hispanic"]
EXPRESSIONS = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt"]
COLOURS = ["rosy brown", "dark slate gray", "saddle brown", "black", "peru", "sienna", "dim gray", "tan"]


def _labels(dataset: str, rng: np.random.Generator, n: int) -> list[dict]:
    """Made-up typed labels for n records of an attribute dataset."""
    if dataset == "celeba":
        bits = rng.random((n, 40)) < 0.3
        names = [f"attribute {i}" for i in range(40)]
        return [dict(zip(names, row.tolist())) for row in bits]
    if dataset == "fairface":
        ages = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"]
        return [{"age": ages[a], "gender": ("male", "female")[g], "race": RACES[r]} for a, g, r in
                zip(rng.integers(0, 9, n), rng.integers(0, 2, n), rng.integers(0, 7, n))]
    if dataset in ("cacd", "afad", "imdb_wiki"):
        years = np.clip(rng.normal(35, 14, n), 1, 100).astype(int)
        if dataset == "cacd":
            return [{"age": int(a)} for a in years]
        return [{"age": int(a), "gender": ("male", "female")[g]} for a, g in zip(years, rng.integers(0, 2, n))]
    if dataset == "affectnet":
        return [{"expression": EXPRESSIONS[e], "valence": round(float(v), 2), "arousal": round(float(a), 2)}
                for e, v, a in zip(rng.integers(0, 8, n), rng.uniform(-1, 1, n), rng.uniform(-1, 1, n))]
    if dataset in ("rafdb", "expw"):
        return [{"expression": EXPRESSIONS[e]} for e in rng.integers(0, 7, n)]
    return [{"hair color": COLOURS[c], "lip color": COLOURS[d], "earring": bool(e)} for c, d, e in
            zip(rng.integers(0, 8, n), rng.integers(0, 8, n), rng.integers(0, 2, n))]


def make_manifest(rows: int, where: Path, seed: int = 0) -> None:
    """Write a synthetic manifest of about `rows` rows and a matching stats.json under `where`."""
    rng = np.random.default_rng(seed)
    (where / "manifest").mkdir(parents=True, exist_ok=True)
    columns: dict[str, list[str]] = {c: [] for c in ("key", "shard", "split", "dataset", "kind", "text", "source_id",
                                                     "source_path", "labels")}
    stats: dict = {"datasets": {}, "split_conflicts": 0}
    serial = 0
    splits = np.array(["train", "val", "test"])
    for dataset, (share, kind) in MIX.items():
        per_image = 10 if kind == "caption" and dataset != "ffhq_text" else 1
        n = max(1, int(rows * share) // per_image)
        split = splits[np.searchsorted([0.9, 0.95], rng.random(n))]
        if kind == "attributes":
            labels = _labels(dataset, rng, n)
            texts = [[format_attributes(dataset.split("_")[0], lab)] for lab in labels]
        else:
            labels = [{"smiling": int(s)} if dataset == "celeba_dialog" else {} for s in rng.integers(0, 6, n)]
            lengths = rng.integers(6, 40, (n, per_image))
            texts = [[" ".join(WORDS[j] for j in rng.integers(0, len(WORDS), m)) + "." for m in row] for row in lengths]
        for i in range(n):
            key = f"{serial:032x}"
            serial += 1
            labels_json = json.dumps(labels[i], sort_keys=True)
            shard = f"{split[i]}-{serial // 5000:06d}.tar"
            for text in texts[i]:
                for name, value in (("key", key), ("shard", shard), ("split", split[i]), ("dataset", dataset),
                                    ("kind", kind), ("text", text), ("source_id", str(i)),
                                    ("source_path", f"{dataset}/{i}.jpg"), ("labels", labels_json)):
                    columns[name].append(str(value))
        stats["datasets"][dataset] = {"read": n, "written": n, "pairs": n * per_image, "filtered": {}, "rejected": {}}
    table = pa.table(columns, schema=MANIFEST_SCHEMA)
    for start in range(0, table.num_rows, 500_000):  # several files, as a distributed build writes them
        write_manifest(table.slice(start, 500_000), str(where / "manifest" / f"part-{start // 500_000:06d}.parquet"))
    (where / "stats.json").write_text(json.dumps(stats))


def make_small_corpus(samples: int, where: Path, seed: int = 1) -> None:
    """Write a consistent corpus of `samples` samples (tokens, JSON, 256x256 JPEG) in shards of 1,000."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (where / "shards").mkdir(parents=True, exist_ok=True)
    (where / "manifest").mkdir(exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(buf, format="JPEG", quality=90)
    jpeg = buf.getvalue()
    rows = []
    for start in range(0, samples, 1000):
        shard = f"train-{start // 1000:06d}.tar"
        with tarfile.open(where / "shards" / shard, "w", format=tarfile.USTAR_FORMAT) as tar:
            for i in range(start, min(start + 1000, samples)):
                key = f"{i:032x}"
                labels = {"age": int(rng.integers(1, 90)), "gender": ("male", "female")[i % 2]}
                text = format_attributes("afad", labels)
                sample = ShardSample(key, "train", rng.integers(0, 1024, 256).astype(np.uint16),
                                     (TextEntry("afad", "attributes", text),), {"afad": labels},
                                     (SourceRef("afad", str(i), f"afad/{i}.jpg", "train"),), jpeg)
                for ext, data in sample.to_wds().items():
                    if ext != "__key__":
                        info = tarfile.TarInfo(f"{key}.{ext}")
                        info.size, info.mtime = len(data), 0
                        tar.addfile(info, io.BytesIO(data))
                rows.append({"key": key, "shard": shard, "split": "train", "dataset": "afad", "kind": "attributes",
                             "text": text, "source_id": str(i), "source_path": f"afad/{i}.jpg",
                             "labels": json.dumps(labels, sort_keys=True)})
    write_manifest(manifest_table(rows), str(where / "manifest" / "part-000000.parquet"))
    (where / "stats.json").write_text(json.dumps(
        {"datasets": {"afad": {"read": samples, "written": samples, "pairs": samples, "filtered": {}, "rejected": {}}}}))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="manifest rows for the summary (default 2M)")
    parser.add_argument("--samples", type=int, default=4000, help="samples in the corpus to validate (default 4,000)")
    parser.add_argument("--quick", action="store_true", help="200,000 rows and 1,000 samples")
    parser.add_argument("--workdir", default="build/bench_inspect", help="where the synthetic corpora are kept")
    args = parser.parse_args(argv)
    rows, samples = (200_000, 1000) if args.quick else (args.rows, args.samples)
    work = Path(args.workdir)
    big, small = work / f"manifest-{rows}", work / f"validate-{samples}"
    if not (big / "stats.json").exists():
        t = time.perf_counter()
        make_manifest(rows, big)
        print(f"wrote the synthetic manifest in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    if not (small / "stats.json").exists():
        make_small_corpus(samples, small)
    load_before = os.getloadavg()[0]

    corpus = open_corpus(str(big))
    wall, cpu = time.perf_counter(), time.process_time()
    summary = summarize(corpus, max_shards=-1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    parts = ", ".join(f"{k} {v:.2f}" for k, v in summary["seconds"].items() if k not in ("total", "codebook"))
    print(f"summary of {summary['manifest_rows']:,} manifest rows ({summary['samples']:,} samples, "
          f"{summary['text_tokens']['all']['texts']:,} texts): {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"(wall per part: {parts}; counts, text tokens and labels run concurrently); "
          f"load average before {load_before:.1f}")
    result = validate_corpus(open_corpus(str(small)))
    assert result.ok, format_validation(result)
    print(f"validate: {result.samples:,} samples in {result.shards} shards, {result.seconds:.2f} s, "
          f"{result.samples_per_second:,.0f} samples/s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; cores {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
