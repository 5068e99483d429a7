"""The leak-free split work in `talk2face inspect`: summary text, --json and the HTML report's cluster rows.

One real build (DirectRunner, tiny-random VQGAN, no JPEGs kept, so the report decodes faces) over
fake CelebA, MM-CelebA-HQ and FairFace with a planted leak: FairFace's train image 1 replaced by an
enlarged, re-encoded copy of CelebA's test image 000010.jpg.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from converters.fakes import make_all
from pipeline.inspect import cli
from pipeline.inspect.corpus import open_corpus
from pipeline.inspect.leaks import format_leaks, leak_summary, read_clusters

DATASETS = ("celeba", "fairface", "mm_celeba_hq")
COPY, ORIGINAL = "fairface/train/1.jpg", "celeba/Img/img_align_celeba/000010.jpg"


@pytest.fixture(scope="module")
def leaky(tmp_path_factory, kit) -> Path:
    root = tmp_path_factory.mktemp("leaky-raw")
    make_all(root, only=DATASETS)
    original = Image.open(root / ORIGINAL)
    copy = original.resize((original.width * 3 // 2, original.height * 3 // 2), Image.Resampling.BICUBIC)
    copy.save(root / COPY, format="JPEG", quality=60)
    out = tmp_path_factory.mktemp("leaky") / "out"
    kit.build(root, out, datasets=DATASETS, cache="")
    return out


def run(argv: list[str], capsys) -> tuple[int, str]:
    status = cli.main(argv)
    return status, capsys.readouterr().out


def test_summary_text_shows_moves_ids_clusters_and_the_mapping(leaky, capsys):
    status, text = run([str(leaky), "--max-shards", "-1"], capsys)
    assert status == 0
    block = text[text.index("leak-free splits"):]
    fairface = next(line for line in block.splitlines() if line.strip().startswith("fairface"))
    assert fairface.split()[1:4] == ["0", "0", "1"]  # moved: same face, same photo, near-duplicate
    stats = json.loads((leaky / "stats.json").read_text())
    celeba = re.search(r"^\s+celeba\s+(.*)$", block, re.M)
    assert celeba and celeba.group(1).split()[:5] == [str(stats["datasets"]["celeba"]["moved"].get(c, 0)) for c in
                                                      ("same_face", "same_photo", "near_duplicate")] + ["8", "8"]
    assert "split policy: merge" in block
    assert f"clusters: {stats['leaks']['clusters']} ({stats['leaks']['clusters_across_splits']} across splits)" in block
    assert "within 4 bits" in block and "confirmed pairs 1 of " in block
    assert "CelebA-HQ mapping: " + stats["build"]["celeba_hq_mapping"]["file"] in block
    assert "linked 9" in block


def test_json_carries_the_same_counts(leaky, capsys):
    status, text = run([str(leaky), "--max-shards", "-1", "--json"], capsys)
    assert status == 0
    leaks = json.loads(text)["leaks"]
    by = {d["dataset"]: d for d in leaks["datasets"]}
    assert by["fairface"]["moved"] == {"same_face": 0, "same_photo": 0, "near_duplicate": 1}
    assert by["celeba"]["ids"] == {"photo_id": 8, "person_id": 8}
    assert by["mm_celeba_hq"]["photo_links"]["linked"] == 9
    assert leaks["near_duplicates"]["pairs"] == 1 and leaks["near_duplicates"]["threshold"] == 4
    assert leaks["leaks"]["policy"] == leaks["policy"] == "merge"
    assert leaks["celeba_hq_mapping"]["rows_linked"] > 0


def test_report_draws_each_cluster_with_decoded_faces_and_caps_the_rows(leaky, tmp_path, capsys):
    clusters = read_clusters(open_corpus(str(leaky)), limit=100)
    assert clusters["total"] > 2
    page = tmp_path / "report.html"
    status, _ = run([str(leaky), "--report", str(page), "--max-shards", "-1", "--n", "4", "--max-clusters", "2"], capsys)
    assert status == 0
    html = page.read_text()
    section = html[html.index("<h2>Leak-free splits</h2>"):]
    assert len(re.findall(r'<div class="cluster">', section)) == 2
    assert f"2 of {clusters['total']} clusters shown" in section
    near = next(c for c in clusters["clusters"] if any(e[2] == "near_duplicate" for e in c["edges"]))
    assert COPY in section and ORIGINAL in section  # the planted pair: across splits, so among the first rows
    assert "train → test" in section  # FairFace's copy moved to CelebA's test split
    faces = re.findall(r'<img alt="([0-9a-f]+)"[^>]*src="data:image/jpeg;base64,', section)
    shown = [m["key"] for c in clusters["clusters"][:2] for m in c["members"]]
    assert sorted(faces) == sorted(shown) and {m["key"] for m in near["members"]} <= set(faces)


def test_no_mapping_file_and_an_older_stats_json_are_said_plainly(tmp_path):
    stats = {"datasets": {"celeba_text_hq": {"photo_links": {"no mapping file": 3}, "ids": {"photo_id": 3}}},
             "near_duplicates": {"threshold": 2, "pairs": 0, "compared_pairs": 0},
             "leaks": {"policy": "report", "clusters": 0},
             "build": {"celeba_hq_mapping": {"file": None, "note": "no CelebA-HQ-to-CelebA-mapping.txt in ..."}}}
    lines = "\n".join(format_leaks(leak_summary(stats)))
    assert "NO MAPPING FILE FOUND" in lines and "no mapping file 3" in lines
    assert "leaking: near-dup" in lines  # the report policy shows what leaks
    assert "not in stats.json" in "\n".join(format_leaks(leak_summary({"datasets": {}})))


def test_unreadable_leak_lines_are_skipped_and_counted(tmp_path):
    good = {"cluster": "a", "split": "test", "across_splits": False, "members": [], "edges": []}
    across = dict(good, cluster="b", across_splits=True)
    (tmp_path / "leaks.jsonl").write_text("\n".join([json.dumps(good), "{not json", "[1]", json.dumps(across)]) + "\n")
    got = read_clusters(open_corpus(str(tmp_path)), limit=1)
    assert got["bad_lines"] == 2 and got["total"] == 2 and got["across_splits"] == 1
    assert [c["cluster"] for c in got["clusters"]] == ["b"]
    (tmp_path / "none").mkdir()
    assert read_clusters(open_corpus(str(tmp_path / "none")), limit=5)["present"] is False
