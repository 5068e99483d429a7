"""Round trips of the other formats schemas/ defines: the manifest (Parquet) and the shard sample."""

import io
import json

import numpy as np
import pyarrow as pa
import pytest

from schemas import (
    MANIFEST_SCHEMA,
    FaceRecord,
    SampleError,
    ShardSample,
    SourceRef,
    Text,
    TextEntry,
    attribute_record,
    manifest_table,
    most_held_out,
    read_manifest,
    sample_key,
    stable_split,
    write_manifest,
)


def _row(i):
    return {
        "key": f"{i:032x}", "shard": "train-000000.tar", "split": "train", "dataset": "celeba",
        "kind": "attributes", "text": "celeba smiling: true;", "source_id": f"{i:06d}.jpg",
        "source_path": f"celeba/Img/img_align_celeba/{i:06d}.jpg", "labels": json.dumps({"smiling": True}),
        "photo_id": f"celeba:{i:06d}.jpg" if i % 2 else None, "person_id": f"celeba:{i % 7}" if i % 3 else None,
    }


def test_manifest_write_read_round_trip(tmp_path):
    rows = [_row(i) for i in range(50)]
    write_manifest(manifest_table(rows), str(tmp_path / "part-0.parquet"))
    back = read_manifest(str(tmp_path))
    assert back.schema.equals(MANIFEST_SCHEMA)
    assert back.to_pylist() == rows


def test_manifest_written_before_the_id_columns_reads_with_nulls(tmp_path):
    import pyarrow.parquet as pq

    old_rows = [{k: v for k, v in _row(i).items() if k not in ("photo_id", "person_id")} for i in range(3)]
    old_schema = pa.schema([f for f in MANIFEST_SCHEMA if f.name not in ("photo_id", "person_id")])
    pq.write_table(pa.Table.from_pylist(old_rows, schema=old_schema), str(tmp_path / "old.parquet"))
    back = read_manifest(str(tmp_path)).to_pylist()
    assert back == [{**row, "photo_id": None, "person_id": None} for row in old_rows]


def test_sample_ids_round_trip_and_old_json_reads_without_them():
    ref = SourceRef("mm_celeba_hq", "12", "mm_celeba_hq/image/12.jpg", "test", "celeba:000124.jpg", "celeba:7")
    sample = _sample(sources=(ref,))
    fields = sample.to_wds()
    meta = json.loads(fields["json"])
    assert meta["sources"][0]["photo_id"] == "celeba:000124.jpg" and meta["sources"][0]["person_id"] == "celeba:7"
    assert ShardSample.from_wds(fields).sources == (ref,)
    for s in meta["sources"]:
        del s["photo_id"], s["person_id"]
    old = ShardSample.from_wds({**fields, "json": json.dumps(meta).encode()})
    assert old.sources[0].photo_id == "" and old.sources[0].person_id == ""
    assert "photo_id" not in _sample().meta()["sources"][0]  # unknown ids are not written


def test_record_ids_must_be_namespaced():
    good = attribute_record(dataset="cacd", prefix="cacd", source_id="a.jpg", image="x", source_path="cacd/a.jpg",
                            split="train", labels={"age": 3}, person_id="cacd:17")
    good.validate()
    for bad in ("17", "cacd:", ":17", "cacd:1 7"):
        with pytest.raises(ValueError, match="person_id"):
            attribute_record(dataset="cacd", prefix="cacd", source_id="a.jpg", image="x", source_path="cacd/a.jpg",
                             split="train", labels={"age": 3}, person_id=bad).validate()


def test_manifest_is_deterministic(tmp_path):
    for name in ("a", "b"):
        write_manifest(manifest_table([_row(i) for i in range(20)]), str(tmp_path / f"{name}.parquet"))
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_manifest_rejects_missing_columns():
    bad = _row(1)
    del bad["labels"]
    with pytest.raises(ValueError, match="'labels'"):
        manifest_table([bad])
    with pytest.raises(ValueError, match="schema mismatch"):
        write_manifest(pa.table({"key": ["x"]}), io.BytesIO())


def _sample(**kw):
    pixels = np.zeros((256, 256, 3), np.uint8)
    fields = dict(
        key=sample_key(pixels), split="test", tokens=np.arange(256, dtype=np.uint16) * 3,
        texts=(TextEntry("celeba", "attributes", "celeba smiling: true;"), TextEntry("mm_celeba_hq", "caption", "She smiles.")),
        labels={"celeba": {"smiling": True}},
        sources=(SourceRef("celeba", "000001.jpg", "celeba/img_align_celeba/000001.jpg", "test"),),
    )
    fields.update(kw)
    return ShardSample(**fields)


def test_sample_wds_round_trip():
    sample = _sample(jpg=b"\xff\xd8jpeg")
    back = ShardSample.from_wds(sample.to_wds())
    assert back.key == sample.key and back.texts == sample.texts and back.sources == sample.sources
    assert back.labels == sample.labels and back.jpg == sample.jpg and back.split == "test"
    assert np.array_equal(back.tokens, sample.tokens) and back.tokens.dtype == np.uint16


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: f.pop("tokens.npy"), "no tokens.npy"),
        (lambda f: f.__setitem__("json", b"{not json"), "not valid JSON"),
        (lambda f: f.__setitem__("tokens.npy", b"garbage"), "not a readable .npy"),
        (lambda f: f.__setitem__("__key__", "f" * 32), "json says key"),
    ],
)
def test_sample_damage_is_named(damage, message):
    fields = _sample().to_wds()
    damage(fields)
    with pytest.raises(SampleError, match=message):
        ShardSample.from_wds(fields)


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (np.zeros(256, np.int64), "dtype int64"),
        (np.zeros(255, np.uint16), r"shape \(255,\)"),
        (np.full(256, 1024, np.uint16), "outside the 1024-code book"),
    ],
)
def test_bad_tokens_are_named(tokens, message):
    fields = _sample().to_wds()
    buf = io.BytesIO()
    np.save(buf, tokens, allow_pickle=False)
    fields["tokens.npy"] = buf.getvalue()
    with pytest.raises(SampleError, match=message):
        ShardSample.from_wds(fields)


def test_meta_validation_names_the_field():
    meta = _sample().meta()
    meta["texts"][0]["text"] = "celeba smiling true"
    buf = io.BytesIO()
    np.save(buf, np.zeros(256, np.uint16))
    with pytest.raises(SampleError, match="'smiling true' does not end with ';'"):
        ShardSample.from_wds({"__key__": meta["key"], "json": json.dumps(meta).encode(), "tokens.npy": buf.getvalue()})


def test_stable_split_and_held_out():
    # the LABELS.md rule, computed independently
    import hashlib

    for ident in ("afraid_African_214.jpg", "2000", "nm0000001", "00012"):
        b = int(hashlib.sha256(ident.encode()).hexdigest()[:8], 16) % 100
        assert stable_split(ident) == ("train" if b < 90 else "val" if b < 95 else "test")
    counts = {s: 0 for s in ("train", "val", "test")}
    for i in range(4000):
        counts[stable_split(str(i))] += 1
    assert 0.87 < counts["train"] / 4000 < 0.93 and 0.03 < counts["test"] / 4000 < 0.07
    assert most_held_out(["train", "test", "val"]) == "test" and most_held_out({"train", "val"}) == "val"


def test_record_validation():
    record = attribute_record(dataset="cacd", prefix="cacd", source_id="x.jpg", image="/x.jpg",
                              source_path="cacd/x.jpg", split="train", labels={"age": 30})
    record.validate()
    assert record.texts == (Text("attributes", "cacd age: 30;"),)
    bad = FaceRecord("cacd", "x.jpg", "/x.jpg", "cacd/x.jpg", "dev", {}, (Text("caption", "hi"),))
    with pytest.raises(ValueError, match="split 'dev'"):
        bad.validate()
    lying = FaceRecord("cacd", "x.jpg", "/x.jpg", "cacd/x.jpg", "train", {"age": 31}, (Text("attributes", "cacd age: 30;"),))
    with pytest.raises(ValueError, match="text says age=30"):
        lying.validate()
