"""FFHQ-Text on the CUB-style class-folder layout, a flat CRLF copy and a nested copy."""

import pytest

from converters.fakes import ffhq_text as fake
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, Filtered, Reject, stable_split

EXPECTED = {"train": 4, "val": 2, "test": 2}
FILTERED = {"no caption": 1}
REJECTED = {"image missing": 1, "malformed line": 1}


class TestFfhqText(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED = "ffhq_text", EXPECTED, FILTERED, REJECTED


class TestFfhqTextFlatCRLF(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "ffhq_text", EXPECTED, FILTERED, REJECTED, "flat"


class TestFfhqTextNested(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "ffhq_text", EXPECTED, FILTERED, REJECTED, "nested"

    def test_images_in_a_class_folder_are_found(self, outcomes):
        record = next(o for o in outcomes if isinstance(o, FaceRecord))
        assert record.source_path == f"ffhq_text/FFHQ-Text (données)/Image/00_Female/{record.source_id}.png"


@pytest.fixture(scope="module", params=["default", "flat"])
def outcomes(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"ffhq-{request.param}")
    fake.make(root / "ffhq_text", variant=request.param)
    return {o.source_id: o for o in convert("ffhq_text", root)}


def test_one_caption_per_non_blank_line(outcomes):
    for stem in fake.WRITTEN:
        record = outcomes[stem]
        assert [t.text for t in record.texts] == fake.captions(stem)
        assert all(t.kind == "caption" for t in record.texts) and record.labels == {}
    assert len(outcomes[fake.GAPPY].texts) == 9  # blank lines and trailing spaces between lines are skipped


def test_split_is_the_hash_of_the_image_stem(outcomes):
    for stem in fake.WRITTEN:
        assert outcomes[stem].split == stable_split(stem)


def test_empty_caption_file_is_no_caption(outcomes):
    out = outcomes[fake.EMPTY]
    assert isinstance(out, Filtered) and out.reason == "no caption" and f"{fake.EMPTY}.txt" in out.detail


def test_bad_files_are_rejected(outcomes):
    bad = outcomes[fake.NOT_UTF8]
    assert isinstance(bad, Reject) and bad.reason == "malformed line" and "not UTF-8" in bad.detail
    missing = outcomes[fake.MISSING_IMAGE]
    assert missing.reason == "image missing" and f"{fake.MISSING_IMAGE}.png not found" in missing.detail


def test_the_filename_pickles_are_not_read(tmp_path):
    fake.make(tmp_path / "ffhq_text")
    (tmp_path / "ffhq_text" / "train" / "filenames.pickle").write_bytes(b"not a pickle at all")
    records = [o for o in convert("ffhq_text", tmp_path) if isinstance(o, FaceRecord)]
    assert len(records) == sum(EXPECTED.values())


def test_a_second_caption_file_for_a_stem_is_rejected(tmp_path):
    fake.make(tmp_path / "ffhq_text")
    (tmp_path / "ffhq_text" / "Text" / "00003.txt").write_text("A woman.\n")
    out = [o for o in convert("ffhq_text", tmp_path) if isinstance(o, Reject) and o.reason == "malformed line"]
    assert any("second caption file for image '00003'" in o.detail for o in out)
