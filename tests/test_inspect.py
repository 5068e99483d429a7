"""Tests of `talk2face inspect` (model/inspect.py, model/cli.py) on a tiny corpus built here.

`build_corpus` writes shards with tarfile + ShardSample.to_wds(), a manifest with
schemas.manifest_table/write_manifest and a stats.json, consistent with each other; the damage
tests then break one thing each and check that the validator names the shard and the key.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from model import cli
from pipeline.inspect import corpus as lib
from schemas import ShardSample, SourceRef, TextEntry, format_attributes, manifest_table, write_manifest

# (split, shard, [(dataset, source_id, kind, text or None for attribute text)], labels per dataset)
FAIRFACE = {"age": "20-29", "gender": "male", "race": "east asian"}
SPEC: list[tuple[str, int, list[tuple[str, str, str, str | None]], dict[str, dict[str, Any]]]] = [
    ("train", 0, [("fairface", "train/1.jpg", "attributes", None)], {"fairface": FAIRFACE}),
    ("train", 0, [("fairface", "train/2.jpg", "attributes", None)],
     {"fairface": {"age": "more than 70", "gender": "female", "race": "indian"}}),
    ("train", 0, [("cacd", "14_Aaron_Johnson_0001.jpg", "attributes", None)], {"cacd": {"age": 14}}),
    ("train", 0, [("mm_celeba_hq", "17", "caption", "She is smiling and has wavy hair."),
                  ("mm_celeba_hq", "17", "caption", "The woman wears heavy makeup and is smiling.")],
     {"mm_celeba_hq": {}}),
    ("train", 1, [("mm_celeba_hq", "20", "caption", "A young man with a beard."),
                  ("celeba_dialog", "20", "caption", "The man has a full beard and is not smiling at all.")],
     {"celeba_dialog": {"beard": 4, "smiling": 0}, "mm_celeba_hq": {}}),
    ("train", 1, [("cacd", "53_Bill_Murray_0002.jpg", "attributes", None)], {"cacd": {"age": 53}}),
    ("train", 1, [("fairface", "train/3.jpg", "attributes", None)],
     {"fairface": {"age": "3-9", "gender": "female", "race": "black"}}),
    ("val", 0, [("fairface", "val/1.jpg", "attributes", None)], {"fairface": FAIRFACE}),
    ("val", 0, [("cacd", "30_Zoe_Saldana_0003.jpg", "attributes", None)], {"cacd": {"age": 30}}),
    ("test", 0, [("cacd", "61_Tom_Hanks_0001.jpg", "attributes", None)], {"cacd": {"age": 61}}),
    ("test", 0, [("celeba_dialog", "99", "caption", "This person has no beard and smiles a little.")],
     {"celeba_dialog": {"beard": 0, "smiling": 2}}),
]
FILTERED = {"fairface": {"below resolution": 2}, "cacd": {}, "mm_celeba_hq": {}, "celeba_dialog": {}}
REJECTED = {"fairface": {}, "cacd": {"image missing": 1}, "mm_celeba_hq": {}, "celeba_dialog": {}}


def _face(i: int) -> tuple[str, bytes]:
    """A made-up 256x256 face (a gradient in a colour of its own): its key and JPEG bytes."""
    rng = np.random.default_rng(i)
    pixels = np.zeros((256, 256, 3), np.uint8)
    pixels[..., :] = rng.integers(0, 256, 3, dtype=np.uint8)
    pixels[..., 0] = np.linspace(0, 255, 256, dtype=np.uint8)[None, :]
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=80)
    return hashlib.sha256(f"face-{i}".encode()).hexdigest()[:32], buf.getvalue()


def _write_tar(path: Path, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))


def _read_tar(path: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(path, "r") as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]


def _members(sample: ShardSample) -> list[tuple[str, bytes]]:
    """A sample's tar members as the pipeline writes them: contiguous, extensions in sorted order."""
    fields = sample.to_wds()
    return [(f"{sample.key}.{ext}", fields[ext]) for ext in sorted(fields) if ext != "__key__"]


FINGERPRINT = "0123abcd"
CACHE_ROW = np.dtype([("key", "U32"), ("tokens", np.uint16, (256,))])  # as pipeline/cache.py writes segments


def build_corpus(root: Path, *, jpg: bool = True, cache: bool = False) -> Path:
    """Write a consistent tiny corpus (4 shards, 11 samples, 13 pairs) under root/out; returns OUT.

    The layout follows pipeline/: manifest ``shard`` values are shard stems (``train-000000``), one
    manifest file per shard, stats.json as pipeline/report.py builds it, and with `cache` a token
    cache under OUT/cache/<fingerprint>/<bucket>/ (plus a face of another build, not in the corpus).
    """
    out = root / "out"
    (out / "shards").mkdir(parents=True)
    (out / "manifest").mkdir()
    shards: dict[str, list[ShardSample]] = {}
    rows = []
    for i, (split, index, texts, labels) in enumerate(SPEC):
        key, jpeg = _face(i)
        entries = [TextEntry(d, kind, text or format_attributes(d, labels[d])) for d, _, kind, text in texts]
        sources = tuple(dict.fromkeys(SourceRef(d, sid, f"{d}/{sid}", split) for d, sid, _, _ in texts))
        tokens = np.random.default_rng(100 + i).integers(0, 1024, 256).astype(np.uint16)
        sample = ShardSample(key, split, tokens, tuple(entries), labels, sources, jpeg if jpg else None)
        shard = f"{split}-{index:06d}"
        shards.setdefault(shard, []).append(sample)
        for (d, sid, _, _), entry in zip(texts, entries):
            rows.append({"key": key, "shard": shard, "split": split, "dataset": d, "kind": entry.kind,
                         "text": entry.text, "source_id": sid, "source_path": f"{d}/{sid}",
                         "labels": json.dumps(labels[d], sort_keys=True)})
    for shard, samples in shards.items():
        _write_tar(out / "shards" / f"{shard}.tar", [m for s in sorted(samples, key=lambda s: s.key) for m in _members(s)])
        mine = [r for r in rows if r["shard"] == shard]
        write_manifest(manifest_table(mine), str(out / "manifest" / f"{shard}.parquet"))
    datasets: dict[str, dict] = {}
    for row in rows:
        tally = datasets.setdefault(row["dataset"], {"pairs": 0, "records": set()})
        tally["pairs"] += 1
        tally["records"].add(row["source_id"])
    stats: dict = {"build": {"datasets": sorted(datasets), "keep_images": jpg}, "datasets": {}}
    for d, tally in sorted(datasets.items()):
        written = len(tally["records"])
        filtered, rejected = FILTERED[d], REJECTED[d]
        read = written + sum(filtered.values()) + sum(rejected.values())
        stats["datasets"][d] = {"read": read, "written": written, "pairs": tally["pairs"], "filtered": filtered,
                                "rejected": rejected, "moved_to_held_out_split": 0, "pairs_in_shards": tally["pairs"],
                                "filtered_total": sum(filtered.values()), "rejected_total": sum(rejected.values())}
    stats["totals"] = {k: sum(v[k] for v in stats["datasets"].values())
                       for k in ("read", "written", "pairs", "filtered_total", "rejected_total")}
    stats["totals"].update(samples=len(SPEC), shards=len(shards))
    stats["splits"] = {
        split: {"samples": sum(len(v) for k, v in shards.items() if k.startswith(split + "-")),
                "shards": sum(1 for k in shards if k.startswith(split + "-")), "bytes": 0}
        for split in ("train", "val", "test")
    }
    stats["split_conflicts"] = 1
    stats["tokens"] = {"encoded": len(SPEC), "cached": 0, "fingerprints": {FINGERPRINT: len(SPEC)}}
    stats["accounting"] = {"ok": True, "problems": []}
    (out / "stats.json").write_text(json.dumps(stats, indent=2))
    if cache:
        faces = [s for samples in shards.values() for s in samples]
        stale = ShardSample(_face(99)[0], "train", np.full(256, 7, np.uint16), faces[0].texts)
        for sample in [*faces, stale, faces[0]]:  # faces[0] cached twice (two builds)
            rows_ = np.zeros(1, CACHE_ROW)
            rows_["key"], rows_["tokens"] = sample.key, sample.tokens
            folder = out / "cache" / FINGERPRINT / sample.key[:3]
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{len(list(folder.iterdir())):016x}.npy", rows_, allow_pickle=False)
    return out


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return build_corpus(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(["inspect", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def keys_of(out: Path, shard: str) -> list[str]:
    return list(dict.fromkeys(name.split(".", 1)[0] for name, _ in _read_tar(out / "shards" / shard)))


# -----------------------------------------------------------------------------
# Summary


def test_summary_text(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, str(corpus))
    assert status == 0, err
    for expected in ("11 samples, 13 pairs", "splits", "fairface", "celeba_dialog", "below resolution",
                     "image missing", "split conflicts: 1", "text length in WordPiece tokens",
                     "fairface race [string, 3 distinct]: east asian (2)", "codes used"):
        assert expected in out, expected


def test_summary_json(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, str(corpus), "--json")
    assert status == 0
    summary = json.loads(out)
    assert summary["samples"] == 11 and summary["manifest_rows"] == 13
    splits = {r["split"]: r for r in summary["splits"]}
    assert [r["split"] for r in summary["splits"]] == ["train", "val", "test"]
    assert (splits["train"]["samples"], splits["train"]["pairs"], splits["train"]["shard_files"]) == (7, 9, 2)
    rows = {(r["dataset"], r["kind"]): r for r in summary["datasets"]}
    assert rows[("cacd", "attributes")]["pairs"] == 4
    assert rows[("mm_celeba_hq", "caption")] | {} == rows[("mm_celeba_hq", "caption")]
    assert (rows[("mm_celeba_hq", "caption")]["records"], rows[("mm_celeba_hq", "caption")]["pairs"]) == (2, 3)
    stats = {d["dataset"]: d for d in summary["stats"]["datasets"]}
    assert stats["fairface"]["filtered"] == {"below resolution": 2}
    assert summary["stats"]["split_conflicts"] == 1
    race = summary["labels"]["fairface"]["race"]
    assert race["type"] == "string" and dict(map(tuple, race["values"]))["east asian"] == 2
    assert summary["labels"]["cacd"]["age"]["type"] == "int"
    assert summary["labels"]["celeba_dialog"]["beard"]["values"] == [["0", 1], ["4", 1]]
    tt = summary["text_tokens"]
    assert tt["budget"] == 64 and tt["all"]["texts"] == 13 and tt["all"]["over_budget"] == 0
    cb = summary["codebook"]
    assert cb["samples"] == 11 and cb["shards_read"] == 4 and 0 < cb["used"] <= 1024
    assert 0 < cb["entropy_bits"] <= 10


def test_summary_over_fsspec_url_and_max_shards(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, f"file://{corpus}", "--json", "--max-shards", "2", "--text-budget", "8")
    assert status == 0
    summary = json.loads(out)
    assert summary["codebook"]["shards_read"] == 2 and summary["codebook"]["shards_total"] == 4
    assert summary["text_tokens"]["all"]["over_budget"] > 0


def test_codebook_from_the_token_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = build_corpus(tmp_path, cache=True)
    status, text, _ = run(capsys, str(out), "--json")
    from_cache = json.loads(text)["codebook"]
    status, text, _ = run(capsys, str(out), "--json", "--tokens", "shards")
    from_shards = json.loads(text)["codebook"]
    assert from_cache["source"].startswith("token cache") and from_shards["source"] == "shards"
    assert from_cache["samples"] == from_shards["samples"] == 11  # the stale face and the repeat are left out
    assert from_cache["counts"] == from_shards["counts"]
    status, text, _ = run(capsys, str(out), "--max-shards", "2")
    assert status == 0 and "buckets of the token cache" in text
    status, _, err = run(capsys, str(build_corpus(tmp_path / "b")), "--tokens", "cache")
    assert status == 2 and "no token cache" in err


def test_token_counts_match_the_tokenizer() -> None:
    import pyarrow as pa
    from tokenizers import BertWordPieceTokenizer

    texts = ["fairface age: 20-29; gender: male; race: east asian;", "  Ein Mädchen, lächelnd!  ", "", "x" * 150]
    counter = lib._TokenCounter()
    wordpiece = BertWordPieceTokenizer(str(Path(lib.__file__).parents[2] / "model" / "assets" / "bert-base-uncased-vocab.txt"),
                                       lowercase=True)
    if counter.name == "bert-base-uncased WordPiece":
        expected = [len(wordpiece.encode(t, add_special_tokens=False).ids) for t in texts]
        assert counter.count(pa.array(texts)).tolist() == expected
    assert counter.count(pa.array(texts)).tolist()[2] == 0


def test_token_counts_in_threads_match(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    texts = pa.array([f"text {i} with {'many ' * (i % 7)}words, and; punctuation!" for i in range(40)] * 2)
    counter = lib._TokenCounter()
    single = counter.count(texts)
    monkeypatch.setattr(lib, "_TEXTS_PER_THREAD", 5)
    assert counter.count(texts).tolist() == single.tolist()
    assert single.tolist()[:2] == [len(counter._encode_batch([t])[0]) for t in texts.to_pylist()[:2]]


def test_numeric_labels_are_bucketed() -> None:
    ages = np.arange(0, 100, dtype=np.float64)
    buckets = lib._bucket_numbers(ages, np.ones(100), np.unique(ages), integer=True)
    assert buckets[0] == ["0-9", 10] and buckets[-1] == ["90-99", 10] and len(buckets) == 10
    valence = np.linspace(-1, 1, 41)
    buckets = lib._bucket_numbers(valence, np.ones(41), np.unique(valence), integer=False)
    assert buckets[0][0] == "-1 to -0.8" and sum(n for _, n in buckets) == 41


def test_text_budget_default_is_the_trainers() -> None:
    import ast

    source = Path(lib.__file__).parents[2] / "model" / "trainer.py"
    if not source.exists():
        pytest.skip("model/trainer.py is not there yet")
    tree = ast.parse(source.read_text(encoding="utf-8"))  # read, not imported: importing it loads torch
    config = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TrainConfig")
    default = next(n.value for n in config.body if isinstance(n, ast.AnnAssign)
                   and isinstance(n.target, ast.Name) and n.target.id == "text_budget")
    assert default is not None and ast.literal_eval(default) == lib.TEXT_BUDGET


# -----------------------------------------------------------------------------
# Show, sheet, report


def test_show_filters(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, str(corpus), "--show", "2", "--dataset", "cacd", "--json")
    views = json.loads(out)
    assert status == 0 and len(views) == 2
    assert all(t["dataset"] == "cacd" for v in views for t in v["texts"])
    status, out, _ = run(capsys, str(corpus), "--show", "5", "--grep", "BEARD")
    assert status == 0 and out.count("split train") == 1 and out.count("split test") == 1
    assert "[celeba_dialog caption]" in out and "[mm_celeba_hq caption] A young man with a beard." in out
    assert 'labels celeba_dialog 20: {"beard": 4, "smiling": 0}' in out
    key = _face(9)[0]
    status, out, _ = run(capsys, str(corpus), "--show", "3", "--key", key[:10], "--split", "test")
    assert status == 0 and out.startswith(f"{key}  split test  shard test-000000.tar")
    status, out, _ = run(capsys, str(corpus), "--show", "3", "--grep", "no such text")
    assert status == 0 and "no sample matches" in out


def test_sheet_png_size(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "sheet.png"
    status, out, err = run(capsys, str(corpus), "--sheet", str(png), "--n", "5", "--columns", "3")
    assert status == 0, err
    with Image.open(png) as image:
        assert image.size == lib.sheet_size(5, 3) == (3 * (lib.SHEET_THUMB + 12), 2 * (lib.SHEET_THUMB + 12 + 78))
    status, out, _ = run(capsys, str(corpus), "--sheet", str(png), "--dataset", "cacd", "--json")
    info = json.loads(out)
    assert len(info["keys"]) == 4 and info["size"] == list(lib.sheet_size(4, 8))


def test_sheet_decodes_tokens_without_jpegs(tmp_path: Path) -> None:
    corpus = lib.open_corpus(str(build_corpus(tmp_path, jpg=False)))
    table = lib.load_manifest(corpus)
    calls = []

    def decode(codes: np.ndarray) -> np.ndarray:
        calls.append(codes.shape)
        assert codes.dtype == np.uint16
        return np.full((len(codes), 256, 256, 3), 128, np.uint8)

    sheet, keys = lib.contact_sheet(corpus, table, n=3, decode=decode)
    assert calls == [(3, 256)] and len(keys) == 3 and sheet.size == lib.sheet_size(3)
    with pytest.raises(lib.InspectError, match="keeps no JPEGs"):
        lib.contact_sheet(corpus, table, n=3)


def test_sheet_decoder_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = build_corpus(tmp_path, jpg=False)
    status, _, err = run(capsys, str(out), "--sheet", str(tmp_path / "s.png"), "--vqgan-config", "project.yaml")
    assert status == 2 and "--vqgan-config and --vqgan-checkpoint together" in err


def test_report_is_self_contained(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.html"
    status, out, err = run(capsys, str(corpus), "--report", str(report), "--n", "4")
    assert status == 0, err
    page = report.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert "<svg" in page and "data:image/png;base64," in page and "east asian" in page and "codes used" in page


# -----------------------------------------------------------------------------
# Validation


def test_validate_clean_corpus(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, str(corpus), "--validate")
    assert status == 0 and out.startswith("OK: 4 shards, 11 samples, 13 manifest rows") and "samples/s" in out
    status, out, _ = run(capsys, str(corpus), "--validate", "--json")
    assert json.loads(out)["ok"] is True


def _rewrite(out: Path, shard: str, edit: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]) -> None:
    _write_tar(out / "shards" / shard, edit(_read_tar(out / "shards" / shard)))


def _tokens(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _replace(key: str, ext: str, data: bytes) -> Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]:
    return lambda members: [(n, data if n == f"{key}.{ext}" else d) for n, d in members]


def _problems(out: Path) -> list[lib.Problem]:
    result = lib.validate_corpus(lib.open_corpus(str(out)))
    assert not result.ok
    return result.problems


def _has(problems: list[lib.Problem], kind: str, shard: str | None, key: str | None, text: str = "") -> None:
    found = [p for p in problems if p.kind == kind and p.shard == shard and p.key == key and text in p.message]
    assert found, f"no {kind} problem for {shard} {key} {text!r} in:\n" + "\n".join(map(str, problems))


def test_truncated_tar(corpus: Path) -> None:
    path = corpus / "shards" / "train-000000.tar"
    members = _read_tar(path)
    key = members[4][0].split(".")[0]  # the second sample's tokens: cut the file inside its data
    data = path.read_bytes()
    offset = data.index(members[4][1][:64])
    path.write_bytes(data[: offset + 40])
    problems = _problems(corpus)
    _has(problems, "tar", "train-000000.tar", key, "truncated")


def test_tar_cut_at_a_member_boundary(corpus: Path) -> None:
    path = corpus / "shards" / "val-000000.tar"
    members = _read_tar(path)
    _write_tar(path, members)
    end = 0
    for _, data in members[:3]:  # headers and data of the first sample's three members
        end += 512 + (len(data) + 511) // 512 * 512
    path.write_bytes(path.read_bytes()[:end])
    _has(_problems(corpus), "tar", "val-000000.tar", members[2][0].split(".")[0], "end-of-archive")


def test_foreign_tar_and_member(corpus: Path) -> None:
    lost = keys_of(corpus, "test-000000.tar")
    (corpus / "shards" / "test-000000.tar").write_bytes(b"PK\x03\x04 this is a zip file, not a tar" * 40)
    _rewrite(corpus, "val-000000.tar", lambda m: m[:3] + [("README.txt", b"hello")] + m[3:])
    problems = _problems(corpus)
    _has(problems, "tar", "test-000000.tar", None, "not an uncompressed tar")
    _has(problems, "foreign-member", "val-000000.tar", None, "README.txt")
    for key in lost:  # the samples of the unreadable shard are named through the manifest
        _has(problems, "manifest-without-sample", "test-000000.tar", key)


def test_wrong_token_dtype_and_length(corpus: Path) -> None:
    a, b = keys_of(corpus, "train-000001.tar")[:2]
    _rewrite(corpus, "train-000001.tar", _replace(a, "tokens.npy", _tokens(np.zeros(256, np.int32))))
    _rewrite(corpus, "train-000001.tar", _replace(b, "tokens.npy", _tokens(np.zeros(255, np.uint16))))
    problems = _problems(corpus)
    _has(problems, "tokens", "train-000001.tar", a, "dtype int32")
    _has(problems, "tokens", "train-000001.tar", b, "shape (255,)")


def test_code_out_of_range_and_bad_json(corpus: Path) -> None:
    a, b = keys_of(corpus, "val-000000.tar")
    _rewrite(corpus, "val-000000.tar", _replace(a, "tokens.npy", _tokens(np.full(256, 1024, np.uint16))))
    _rewrite(corpus, "val-000000.tar", _replace(b, "json", b'{"key": "nope"'))
    problems = _problems(corpus)
    _has(problems, "tokens", "val-000000.tar", a, "outside the 1024-code book")
    _has(problems, "json", "val-000000.tar", b, "not valid JSON")


def test_split_differs_from_shard_name(corpus: Path) -> None:
    key = keys_of(corpus, "test-000000.tar")[0]
    members = dict(_read_tar(corpus / "shards" / "test-000000.tar"))
    meta = json.loads(members[f"{key}.json"])
    meta["split"] = "train"
    _rewrite(corpus, "test-000000.tar", _replace(key, "json", json.dumps(meta).encode()))
    _has(_problems(corpus), "split", "test-000000.tar", key, "not the shard's split 'test'")


def test_duplicate_keys(corpus: Path) -> None:
    moved = [m for m in _read_tar(corpus / "shards" / "val-000000.tar")][:3]
    key = moved[0][0].split(".")[0]
    _rewrite(corpus, "train-000000.tar", lambda m: m + moved)  # the same sample in a second shard
    first = keys_of(corpus, "test-000000.tar")[0]
    _rewrite(corpus, "test-000000.tar", lambda m: m + m[:3])  # twice in one shard
    problems = _problems(corpus)
    _has(problems, "duplicate", "val-000000.tar", key, "also in shard train-000000.tar")
    _has(problems, "duplicate", "test-000000.tar", first, "twice in this shard")


def test_manifest_row_without_sample_and_sample_without_rows(corpus: Path) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    gone = keys_of(corpus, "train-000001.tar")[0]
    _rewrite(corpus, "train-000001.tar", lambda m: [x for x in m if not x[0].startswith(gone)])
    orphan = keys_of(corpus, "val-000000.tar")[1]
    path = corpus / "manifest" / "val-000000.parquet"
    table = pq.read_table(path)
    write_manifest(table.filter(pc.not_equal(table["key"], orphan)), str(path))
    problems = _problems(corpus)
    _has(problems, "manifest-without-sample", "train-000001.tar", gone)
    _has(problems, "sample-without-manifest", "val-000000.tar", orphan)
    assert any(p.kind == "stats" and "pairs" in p.message for p in problems)  # the manifest lost rows


def test_manifest_texts_differ(corpus: Path) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    key = _face(3)[0]  # the mm_celeba_hq sample with two captions
    path = corpus / "manifest" / "train-000000.parquet"
    table = pq.read_table(path)
    text = pc.if_else(pc.equal(table["text"], "She is smiling and has wavy hair."), "She is frowning.", table["text"])
    field = table.schema.field("text")
    write_manifest(table.set_column(table.schema.get_field_index("text"), field, pa.chunked_array([text])), str(path))
    _has(_problems(corpus), "manifest-texts", "train-000000.tar", key, "She is frowning.")


def test_stats_mismatch_and_missing(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stats = json.loads((corpus / "stats.json").read_text())
    stats["datasets"]["cacd"]["pairs"] = 5
    stats["datasets"]["fairface"]["written"] = 3
    (corpus / "stats.json").write_text(json.dumps(stats))
    problems = _problems(corpus)
    assert any(p.kind == "stats" and "'cacd'" in p.message and "pairs 5 != 4" in p.message for p in problems)
    assert any(p.kind == "stats" and "'fairface'" in p.message and "written 3 != 4" in p.message for p in problems)
    assert any(p.kind == "stats" and "'fairface'" in p.message and "read" in p.message for p in problems)
    (corpus / "stats.json").unlink()
    status, out, err = run(capsys, str(corpus), "--validate")
    assert status == 1 and "[stats]" in out and "stats.json is missing" in out and "Traceback" not in out + err
    status, out, _ = run(capsys, str(corpus))  # the summary still works, and says what is missing
    assert status == 0 and "stats.json is missing" in out


def test_parallel_validation_reports_the_same(corpus: Path) -> None:
    moved = _read_tar(corpus / "shards" / "val-000000.tar")[:3]
    _rewrite(corpus, "train-000000.tar", lambda m: m + moved)
    (corpus / "stats.json").unlink()
    serial = lib.validate_corpus(lib.open_corpus(str(corpus)))
    parallel = lib.validate_corpus(lib.open_corpus(str(corpus)), workers=2)
    assert serial.problems == parallel.problems and serial.samples == parallel.samples == 12


def test_cli_names_the_problem_shard_and_key(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = keys_of(corpus, "val-000000.tar")[0]
    _rewrite(corpus, "val-000000.tar", _replace(key, "tokens.npy", _tokens(np.zeros(256, np.int64))))
    status, out, err = run(capsys, str(corpus), "--validate")
    assert status == 1 and f"[tokens] shard val-000000.tar, key {key}: " in out and "Traceback" not in err
    assert "FAILED" in out


# -----------------------------------------------------------------------------
# Bad input and the command itself


def test_missing_corpus_or_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, str(tmp_path / "nowhere"))
    assert status == 2 and "no such folder" in err
    (tmp_path / "empty").mkdir()
    status, _, err = run(capsys, str(tmp_path / "empty"), "--show", "3")
    assert status == 2 and "no manifest/*.parquet" in err
    status, out, _ = run(capsys, str(tmp_path / "empty"), "--validate")
    assert status == 1 and "[shards]" in out and "[manifest]" in out
    (tmp_path / "empty" / "manifest").mkdir()
    (tmp_path / "empty" / "manifest" / "train-000000.parquet").write_bytes(b"not parquet")
    status, _, err = run(capsys, str(tmp_path / "empty"))
    assert status == 2 and "train-000000.parquet: not a manifest" in err and "Traceback" not in err


def test_damaged_shard_in_summary_is_reported(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus / "shards" / "val-000000.tar"
    path.write_bytes(path.read_bytes()[:700])
    status, out, err = run(capsys, str(corpus))
    assert status == 0 and "damaged shard skipped: val-000000.tar" in out and "Traceback" not in err


def test_cli_dispatch(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.main([]) == 2
    assert cli.main(["frobnicate"]) == 2 and "unknown command" in capsys.readouterr().err
    monkeypatch.setitem(cli.DELEGATES, "generate", ("model.not_written_yet", "x"))
    assert cli.main(["generate", "--help"]) == 2
    assert "model/not_written_yet.py is not part of this install" in capsys.readouterr().err
