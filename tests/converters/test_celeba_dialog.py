"""CelebA-Dialog: the CelebA release with CelebA's images beside it or its own, and the HQ release."""

import pytest

from converters.celeba_dialog import LABEL_NAMES, is_header, parse_levels
from converters.fakes import celeba as fake_celeba
from converters.fakes import celeba_dialog as fake
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, Filtered, Reject, stable_split

EXPECTED = {"train": 5, "val": 1, "test": 2}
FILTERED = {"no caption": 3}
REJECTED = {"malformed line": 2, "unknown label": 1, "image missing": 1}


class TestCelebaDialogWithCelebA(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, ALSO = "celeba_dialog", EXPECTED, FILTERED, REJECTED, ("celeba",)

    def test_images_come_from_celeba(self, outcomes):
        record = next(o for o in outcomes if isinstance(o, FaceRecord))
        assert record.source_path == f"celeba/Img/img_align_celeba/{record.source_id}"


class TestCelebaDialogOwnImagesCRLF(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "celeba_dialog", EXPECTED, FILTERED, REJECTED, "own"

    def test_images_come_from_its_own_folder(self, outcomes):
        record = next(o for o in outcomes if isinstance(o, FaceRecord))
        assert record.source_path == f"celeba_dialog/img_align_celeba/{record.source_id}"


class TestCelebaDialogOwnImagesFirst(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT, ALSO = "celeba_dialog", EXPECTED, FILTERED, REJECTED, "own", ("celeba",)

    def test_own_copy_wins(self, outcomes):
        assert all(o.source_path.startswith("celeba_dialog/img_align_celeba/")
                   for o in outcomes if isinstance(o, FaceRecord))


class TestCelebaDialogHQ(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "celeba_dialog", EXPECTED, FILTERED, REJECTED, "hq"

    def test_hq_layout(self, outcomes):
        record = next(o for o in outcomes if isinstance(o, FaceRecord))
        assert record.source_path == f"celeba_dialog/CelebA-Dialog (HQ)/image/{record.source_id}"
        assert "5380.jpg" not in {o.source_id for o in outcomes}


class TestCelebaDialogHQWithMmCelebaHq(ConverterTest):
    """The HQ release looks for an image it lacks in MM-CelebA-HQ's CelebA-HQ images."""

    KEY, FILTERED, VARIANT, ALSO = "celeba_dialog", FILTERED, "hq", ("mm_celeba_hq",)
    SPLITS = {"train": 6, "val": 1, "test": 2}
    REJECTED = {"malformed line": 2, "unknown label": 1}

    def test_the_missing_image_comes_from_mm_celeba_hq(self, outcomes):
        record = next(o for o in outcomes if o.source_id == f"{fake.MISSING_IMAGE}.jpg")
        assert record.source_path == f"mm_celeba_hq/image/{fake.MISSING_IMAGE}.jpg"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("dialog")
    fake_celeba.make(root / "celeba")
    fake.make(root / "celeba_dialog")
    return {o.source_id: o for o in convert("celeba_dialog", root)}


def name(i):
    return fake.name(i, hq=False)


def test_overall_caption_and_typed_levels(outcomes):
    record = outcomes[name(1)]
    assert len(record.texts) == 1 and record.texts[0].kind == "caption"
    assert record.texts[0].text == fake.entry(1)["overall_caption"]
    assert record.labels == dict(zip(LABEL_NAMES, fake.levels(1)))
    assert list(record.labels) == ["bangs", "eyeglasses", "beard", "smiling", "age"]
    assert all(type(v) is int and 0 <= v <= 5 for v in record.labels.values())


def test_splits_from_the_attr_lists_or_the_name_hash(outcomes):
    assert outcomes[name(2)].split == "train" and outcomes[name(8)].split == "val" and outcomes[name(10)].split == "test"
    combined = outcomes[name(fake.COMBINED_ONLY)]
    assert combined.split == stable_split(name(fake.COMBINED_ONLY))
    assert combined.labels == dict(zip(LABEL_NAMES, fake.levels(fake.COMBINED_ONLY)))
    unlabelled = outcomes[name(fake.UNLABELLED)]
    assert unlabelled.split == stable_split(name(fake.UNLABELLED)) and unlabelled.labels == {}


def test_missing_null_or_empty_caption_is_no_caption(outcomes):
    for i, what in ((fake.NULL_CAPTION, "null"), (fake.EMPTY_CAPTION, "empty"), (fake.NO_CAPTION_KEY, "missing")):
        out = outcomes[name(i)]
        assert isinstance(out, Filtered) and out.reason == "no caption" and f"overall_caption {what}" in out.detail


def test_an_image_in_the_lists_but_not_in_captions_json_is_not_read(outcomes):
    assert name(fake.ABSENT) not in outcomes  # the 5380.jpg case: no entry, so no record to count


def test_bad_levels_and_entries_are_rejected(outcomes):
    bad = outcomes[name(fake.BAD_LINE)]
    assert isinstance(bad, Reject) and bad.reason == "malformed line"
    assert "train_attr_list.txt line 5" in bad.detail and "No_Beard 'x'" in bad.detail
    level = outcomes[name(fake.BAD_LEVEL)]
    assert level.reason == "unknown label" and "Smiling level 7" in level.detail
    entry = outcomes[name(fake.NOT_AN_OBJECT)]
    assert entry.reason == "malformed line" and "expected an object" in entry.detail
    missing = outcomes[name(fake.MISSING_IMAGE)]
    assert missing.reason == "image missing" and missing.source_path.startswith("celeba_dialog/")


def test_flat_and_nested_celeba_copies_are_found(tmp_path):
    for variant in ("flat", "nested"):
        fake_celeba.make(tmp_path / variant / "celeba", variant=variant)
        fake.make(tmp_path / variant / "celeba_dialog")
        records = [o for o in convert("celeba_dialog", tmp_path / variant) if isinstance(o, FaceRecord)]
        assert len(records) == sum(EXPECTED.values())
        folder = {"flat": "celeba/img_align_celeba/", "nested": "celeba/CelebA/Img/img_align_celeba/"}[variant]
        assert all(r.source_path.startswith(folder) for r in records)


def test_without_celeba_every_image_is_missing(tmp_path):
    fake.make(tmp_path / "celeba_dialog")
    out = convert("celeba_dialog", tmp_path)
    assert not [o for o in out if isinstance(o, FaceRecord)]
    assert sum(isinstance(o, Reject) and o.reason == "image missing" for o in out) == sum(EXPECTED.values()) + 1


def test_parse_levels_and_header():
    assert parse_levels("000001.jpg 0 1 2 3 4") == ("000001.jpg", (0, 1, 2, 3, 4), "", "")
    assert parse_levels("000001.jpg 0.0 1.0 2 3 5")[1] == (0, 1, 2, 3, 5)
    assert parse_levels("000001.jpg 0 1 2 3")[2] == "malformed line"
    assert parse_levels("000001.jpg 0 1 2.5 3 4")[2] == "malformed line"
    assert parse_levels("000001.jpg 0 1 -1 3 4")[2] == "unknown label"
    assert is_header("image_name Bangs Eyeglasses No_Beard Smiling Young")
    assert is_header("202599")  # a count line on line 1 is skipped like a header
    assert not is_header("000001.jpg 0 1 2 3 4")


def test_a_repeated_json_key_is_rejected_not_lost(tmp_path):
    fake.make(tmp_path / "celeba_dialog", variant="own")
    path = tmp_path / "celeba_dialog" / "celeba_caption" / "captions.json"
    text = path.read_text()
    first = text.index('"000002.jpg"')
    path.write_text(text[:first] + '"000001.jpg": {"overall_caption": "Again."},\n ' + text[first:])
    out = convert("celeba_dialog", tmp_path)
    repeat = next(o for o in out if o.source_id == "000001.jpg (entry 2)")
    assert isinstance(repeat, Reject) and "appears a second time" in repeat.detail
    assert next(o for o in out if o.source_id == "000001.jpg").texts[0].text == fake.entry(1)["overall_caption"]
