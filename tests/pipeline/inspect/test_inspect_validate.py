"""The validator (`talk2face inspect OUT --validate`): each damage test breaks one thing and checks that
the problem names the shard and the key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from inspect_fixtures import (
    face,
    keys_of,
    read_members,
    replace,
    rewrite,
    run,
    tokens_npy,
    write_members,
)

from pipeline.inspect.corpus import open_corpus
from pipeline.inspect.validate import Problem, validate_corpus
from schemas import write_manifest


def test_validate_clean_corpus(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, str(corpus), "--validate")
    assert status == 0 and out.startswith("OK: 4 shards, 11 samples, 13 manifest rows") and "samples/s" in out
    status, out, _ = run(capsys, str(corpus), "--validate", "--json")
    assert json.loads(out)["ok"] is True


def _problems(out: Path) -> list[Problem]:
    result = validate_corpus(open_corpus(str(out)))
    assert not result.ok
    return result.problems


def _has(problems: list[Problem], kind: str, shard: str | None, key: str | None, text: str = "") -> None:
    found = [p for p in problems if p.kind == kind and p.shard == shard and p.key == key and text in p.message]
    assert found, f"no {kind} problem for {shard} {key} {text!r} in:\n" + "\n".join(map(str, problems))


def test_truncated_tar(corpus: Path) -> None:
    path = corpus / "shards" / "train-000000.tar"
    members = read_members(path)
    key = members[4][0].split(".")[0]  # the second sample's tokens: cut the file inside its data
    data = path.read_bytes()
    offset = data.index(members[4][1][:64])
    path.write_bytes(data[: offset + 40])
    problems = _problems(corpus)
    _has(problems, "tar", "train-000000.tar", key, "truncated")


def test_tar_cut_at_a_member_boundary(corpus: Path) -> None:
    path = corpus / "shards" / "val-000000.tar"
    members = read_members(path)
    write_members(path, members)
    end = 0
    for _, data in members[:3]:  # headers and data of the first sample's three members
        end += 512 + (len(data) + 511) // 512 * 512
    path.write_bytes(path.read_bytes()[:end])
    _has(_problems(corpus), "tar", "val-000000.tar", members[2][0].split(".")[0], "end-of-archive")


def test_foreign_tar_and_member(corpus: Path) -> None:
    lost = keys_of(corpus, "test-000000.tar")
    (corpus / "shards" / "test-000000.tar").write_bytes(b"PK\x03\x04 this is a zip file, not a tar" * 40)
    rewrite(corpus, "val-000000.tar", lambda m: m[:3] + [("README.txt", b"hello")] + m[3:])
    problems = _problems(corpus)
    _has(problems, "tar", "test-000000.tar", None, "not an uncompressed tar")
    _has(problems, "foreign-member", "val-000000.tar", None, "README.txt")
    for key in lost:  # the samples of the unreadable shard are named through the manifest
        _has(problems, "manifest-without-sample", "test-000000.tar", key)


def test_wrong_token_dtype_and_length(corpus: Path) -> None:
    a, b = keys_of(corpus, "train-000001.tar")[:2]
    rewrite(corpus, "train-000001.tar", replace(a, "tokens.npy", tokens_npy(np.zeros(256, np.int32))))
    rewrite(corpus, "train-000001.tar", replace(b, "tokens.npy", tokens_npy(np.zeros(255, np.uint16))))
    problems = _problems(corpus)
    _has(problems, "tokens", "train-000001.tar", a, "dtype int32")
    _has(problems, "tokens", "train-000001.tar", b, "shape (255,)")


def test_code_out_of_range_and_bad_json(corpus: Path) -> None:
    a, b = keys_of(corpus, "val-000000.tar")
    rewrite(corpus, "val-000000.tar", replace(a, "tokens.npy", tokens_npy(np.full(256, 1024, np.uint16))))
    rewrite(corpus, "val-000000.tar", replace(b, "json", b'{"key": "nope"'))
    problems = _problems(corpus)
    _has(problems, "tokens", "val-000000.tar", a, "outside the 1024-code book")
    _has(problems, "json", "val-000000.tar", b, "not valid JSON")


def test_split_differs_from_shard_name(corpus: Path) -> None:
    key = keys_of(corpus, "test-000000.tar")[0]
    members = dict(read_members(corpus / "shards" / "test-000000.tar"))
    meta = json.loads(members[f"{key}.json"])
    meta["split"] = "train"
    rewrite(corpus, "test-000000.tar", replace(key, "json", json.dumps(meta).encode()))
    _has(_problems(corpus), "split", "test-000000.tar", key, "not the shard's split 'test'")


def test_duplicate_keys(corpus: Path) -> None:
    moved = [m for m in read_members(corpus / "shards" / "val-000000.tar")][:3]
    key = moved[0][0].split(".")[0]
    rewrite(corpus, "train-000000.tar", lambda m: m + moved)  # the same sample in a second shard
    first = keys_of(corpus, "test-000000.tar")[0]
    rewrite(corpus, "test-000000.tar", lambda m: m + m[:3])  # twice in one shard
    problems = _problems(corpus)
    _has(problems, "duplicate", "val-000000.tar", key, "also in shard train-000000.tar")
    _has(problems, "duplicate", "test-000000.tar", first, "twice in this shard")


def test_manifest_row_without_sample_and_sample_without_rows(corpus: Path) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    gone = keys_of(corpus, "train-000001.tar")[0]
    rewrite(corpus, "train-000001.tar", lambda m: [x for x in m if not x[0].startswith(gone)])
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

    key = face(3)[0]  # the mm_celeba_hq sample with two captions
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
    assert any(p.kind == "stats" and "dataset fairface (stats.json): read 6 records but written 3" in p.message
               for p in problems)
    (corpus / "stats.json").unlink()
    status, out, err = run(capsys, str(corpus), "--validate")
    assert status == 1 and "[stats]" in out and "stats.json is missing" in out and "Traceback" not in out + err
    status, out, _ = run(capsys, str(corpus))  # the summary still works, and says what is missing
    assert status == 0 and "stats.json is missing" in out


def test_parallel_validation_reports_the_same(corpus: Path) -> None:
    moved = read_members(corpus / "shards" / "val-000000.tar")[:3]
    rewrite(corpus, "train-000000.tar", lambda m: m + moved)
    (corpus / "stats.json").unlink()
    serial = validate_corpus(open_corpus(str(corpus)))
    parallel = validate_corpus(open_corpus(str(corpus)), workers=2)
    assert serial.problems == parallel.problems and serial.samples == parallel.samples == 12


def test_cli_names_the_problem_shard_and_key(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = keys_of(corpus, "val-000000.tar")[0]
    rewrite(corpus, "val-000000.tar", replace(key, "tokens.npy", tokens_npy(np.zeros(256, np.int64))))
    status, out, err = run(capsys, str(corpus), "--validate")
    assert status == 1 and f"[tokens] shard val-000000.tar, key {key}: " in out and "Traceback" not in err
    assert "FAILED" in out


def test_quick_mode_is_the_post_build_check(corpus: Path) -> None:
    quick = validate_corpus(open_corpus(str(corpus)), mode="quick", keep_images=True)
    assert quick.ok and (quick.shards, quick.samples, quick.manifest_rows) == (4, 11, 13)
    log = (corpus / "rejects" / "cacd.jsonl").read_bytes()
    (corpus / "rejects" / "cacd.jsonl").unlink()
    quick = validate_corpus(open_corpus(str(corpus)), mode="quick")
    assert [p.message for p in quick.problems] == [
        "dataset 'cacd': stats.json rejected {'image missing': 1} != {} in the rejects logs",
        "dataset cacd (the outputs): read 5 records but written 4 + filtered 0 + rejected 0 = 4 (+1 unaccounted)",
    ]
    full = validate_corpus(open_corpus(str(corpus)))  # the same comparison in both modes
    assert [p.message for p in full.problems] == [p.message for p in quick.problems]
    (corpus / "rejects" / "cacd.jsonl").write_bytes(log)
    gone = keys_of(corpus, "val-000000.tar")[0]
    rewrite(corpus, "val-000000.tar", lambda m: [x for x in m if not x[0].startswith(gone)])
    problems = validate_corpus(open_corpus(str(corpus)), mode="quick").problems
    assert any(p.shard == "val-000000" and p.key == gone and "disagree" in p.message for p in problems)


def test_quick_mode_reads_indexes_and_full_mode_checks_them(corpus: Path) -> None:
    index = corpus / "shards" / "train-000001.idx.json"
    index.unlink()
    problems = validate_corpus(open_corpus(str(corpus)), mode="quick").problems
    assert any(p.kind == "index" and p.shard == "train-000001" and "idx.json is missing" in p.message
               and "rerun the build" in p.message for p in problems)
    _has(_problems(corpus), "index", "train-000001.tar", None, "idx.json is missing")
    write_members(corpus / "shards" / "train-000001.tar", read_members(corpus / "shards" / "train-000001.tar"))
    stale = index.read_bytes()
    rewrite(corpus, "train-000001.tar", replace(keys_of(corpus, "train-000001.tar")[0], "json", b"{}"))
    index.write_bytes(stale)  # the tar changed after its index was written
    _has(_problems(corpus), "index", "train-000001.tar", None, "the tar has")
    assert validate_corpus(open_corpus(str(corpus)), mode="quick").ok  # quick mode trusts the index
    index.write_bytes(b"not json")
    problems = validate_corpus(open_corpus(str(corpus)), mode="quick").problems
    assert any(p.kind == "index" and "idx.json is not readable JSON" in p.message for p in problems)
