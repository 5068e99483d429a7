"""A tiny build loaded where people already are: Hugging Face `datasets`, `wids`, `webdataset`, `tarfile`,
its Croissant file validated with `mlcroissant`, its dataset card checked against stats.json."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from schemas.card import CARD_FILE, card_problems, parse_card
from schemas.catalog import CROISSANT_FILE, wids_file
from schemas.stats import parse_stats


@pytest.fixture(scope="module")
def built(raw_root: Path, kit: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    out = tmp_path_factory.mktemp("catalog") / "out"
    result = kit.build(raw_root, out, keep_images=True, cache=None)
    return SimpleNamespace(out=out, stats=result.report.stats)


def test_every_build_writes_card_croissant_and_wids_index(built: SimpleNamespace) -> None:
    for split in built.stats["splits"]:
        assert (built.out / wids_file(split)).is_file()
    text = (built.out / CARD_FILE).read_text(encoding="utf-8")
    meta, prose = parse_card(text)
    assert meta["license"] == ["cc-by-4.0", "other"]  # FairFace, and CelebA's research-only terms
    assert {f["split"]: f["path"] for f in meta["configs"][0]["data_files"]} == {
        s: f"shards/{s}-*.tar" for s in built.stats["splits"]}
    assert card_problems(text, built.stats) == []
    assert "### research-only-agreement" not in prose and "### cc-by-4.0" in prose
    assert "@inproceedings{liu2015faceattributes" in prose  # CelebA's citation
    assert built.stats["tokens"]["fingerprints"] and next(iter(built.stats["tokens"]["fingerprints"])) in prose
    tok = built.stats["tokens"]["tokenizer"]  # the card shows the tokenizer stats.json records
    assert f"* kind: {tok['kind']}" in prose and f"tokens per face: {tok['tokens_per_face']} " in prose
    assert f"({tok['grid_side']}x{tok['grid_side']} grid) (from stats.json)" in prose


def test_a_card_that_contradicts_stats_json_is_refused(built: SimpleNamespace) -> None:
    text = (built.out / CARD_FILE).read_text(encoding="utf-8")
    d = built.stats["datasets"]["fairface"]
    row = f"| fairface | attributes | {d['read']} | {d['written']} |"
    assert row in text
    wrong = text.replace(row, f"| fairface | attributes | {d['read']} | {d['written'] + 1} |")
    (problem,) = card_problems(wrong, built.stats)
    assert problem.startswith("dataset fairface: the card says")
    other = json.loads(json.dumps(built.stats))
    other["splits"]["train"]["samples"] += 1
    assert any(p.startswith("split sizes") for p in card_problems(text, other))


def test_hugging_face_datasets_loads_the_folder_with_every_label(built: SimpleNamespace, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(str(built.out), split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == built.stats["splits"]["train"]["samples"]
    assert all(url.endswith(".tar") for url in ds["__url__"])  # the .idx.json indexes are not data files
    row = ds[0]
    assert len(row["tokens.npy"]) == 256 and row["json"]["texts"] and row["jpg"].size == (256, 256)
    seen = {d for r in ds["json"] for d, labels in r["labels"].items() if labels is not None}
    assert seen == {r["dataset"] for r in ds["json"] for r in r["sources"]}  # no dataset's labels dropped


def test_hugging_face_webdataset_builder_with_the_cards_features(built: SimpleNamespace, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    meta, _ = parse_card((built.out / CARD_FILE).read_text(encoding="utf-8"))
    features = datasets.Features._from_yaml_list(meta["dataset_info"]["features"])
    ds = datasets.load_dataset("webdataset", data_files={"train": str(built.out / "shards" / "train-*.tar")},
                               split="train", features=features, cache_dir=str(tmp_path / "hf"))
    fairface = [r for r in ds["json"] if any(s["dataset"] == "fairface" for s in r["sources"])]
    assert fairface and all(r["labels"]["fairface"]["race"] for r in fairface)


def test_wids_gives_random_access(built: SimpleNamespace, tmp_path: Path) -> None:
    wids = pytest.importorskip("wids")
    ds = wids.ShardListDataset(str(built.out / wids_file("train")), cache_dir=str(tmp_path / "wids"))
    assert len(ds) == built.stats["splits"]["train"]["samples"]
    last = ds[len(ds) - 1]  # wids' default decoding: JSON to a dict, .npy to an array
    assert last[".json"]["key"] == last["__key__"].rsplit("/", 1)[-1]
    assert np.asarray(last[".tokens.npy"]).shape == (256,) and last[".tokens.npy"].dtype == np.uint16


def test_webdataset_and_tarfile_keep_working(built: SimpleNamespace) -> None:
    import webdataset as wds

    urls = sorted(str(p) for p in (built.out / "shards").glob("val-*.tar"))
    samples = list(wds.WebDataset(urls, shardshuffle=False, empty_check=False).decode())
    assert len(samples) == built.stats["splits"]["val"]["samples"]
    assert samples[0]["tokens.npy"].shape == (256,) and samples[0]["json"]["split"] == "val"
    with tarfile.open(urls[0]) as tar:
        names = tar.getnames()
    assert {n.split(".", 1)[1] for n in names} == {"jpg", "json", "tokens.npy"}


def test_croissant_file_validates_and_reads_the_manifest(built: SimpleNamespace) -> None:
    mlc = pytest.importorskip("mlcroissant")
    ds = mlc.Dataset(jsonld=str(built.out / CROISSANT_FILE))
    rows = list(ds.records("manifest"))
    assert len(rows) == built.stats["totals"]["pairs"]
    assert {r["manifest/dataset"].decode() for r in rows} == set(built.stats["datasets"])
    stats = parse_stats((built.out / "stats.json").read_bytes())
    assert {d["@id"] for d in ds.metadata.to_json()["distribution"]} >= {f"shards-{s}" for s in stats["splits"]}


def test_talk2face_build_limited_to_accepted_terms(raw_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    out = tmp_path / "out"
    status = main(["build", "--input-root", str(raw_root), "--output", str(out), "--vqgan-preset", "tiny-random",
                   "--datasets", "celeba,fairface", "--limit", "4", "--no-token-cache", "--accept-terms", "cc-by-4.0"])
    assert status == 0 and "corpus written to" in capsys.readouterr().out
    stats = parse_stats((out / "stats.json").read_bytes())
    assert list(stats["datasets"]) == ["fairface"]
    assert "research-only" in stats["build"]["left_out_by_terms"]["celeba"]
    _, prose = parse_card((out / CARD_FILE).read_text(encoding="utf-8"))
    assert "Left out by `--accept-terms cc-by-4.0`" in prose and "* celeba: terms research-only" in prose
    assert "talk2face build --input-root" in prose  # the command line, as typed


def test_terms_no_source_has_and_unknown_classes_are_clear_errors(raw_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import beam_runner

    base = ["--input-root", str(raw_root), "--output", "x", "--vqgan-preset", "tiny-random", "--datasets", "celeba"]
    with pytest.raises(SystemExit):
        beam_runner.parse_args([*base, "--accept-terms", "mit"])
    assert "keeps none of the datasets to build (celeba); their terms classes are: research-only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        beam_runner.parse_args([*base, "--accept-terms", "free-for-all"])
    assert "unknown terms class 'free-for-all'" in capsys.readouterr().err


def test_a_converter_without_declared_terms(caplog: pytest.LogCaptureFixture) -> None:
    from converters.base import Converter, registry
    from pipeline.config import DatasetSpec, select_datasets_by_terms

    class NoTerms(Converter):
        key = "test_no_terms"
        text_kind = "caption"

    try:
        specs = (DatasetSpec("fairface", "/nowhere"), DatasetSpec("test_no_terms", "/nowhere"))
        kept, left_out = select_datasets_by_terms(specs, None)
        assert [s.key for s in kept] == ["fairface", "test_no_terms"] and left_out == ()
        assert "test_no_terms declare no source" in caplog.text
        with pytest.raises(ValueError, match="test_no_terms declare no source.*--strict-sources"):
            select_datasets_by_terms(specs, None, strict=True)
        kept, left_out = select_datasets_by_terms(specs, ["cc-by-4.0"])
        assert [s.key for s in kept] == ["fairface"] and dict(left_out) == {
            "test_no_terms": "its converter declares no source terms"}
    finally:
        del registry()[NoTerms.key]


def test_inspect_prints_the_terms_table(built: SimpleNamespace, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    assert main(["inspect", str(built.out), "--max-shards", "-1"]) == 0
    out = capsys.readouterr().out
    assert "terms of use" in out
    line = next(line for line in out.splitlines() if line.startswith("fairface ") and "cc-by-4.0" in line)
    assert line.split()[-1] == "https://github.com/joojs/fairface"
