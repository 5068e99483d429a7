"""CelebAText-HQ with images in its own CelebAimg/ and in MM-CelebA-HQ's folder, and mis-encoded captions."""

import pytest

from converters.celeba_text_hq import decode_captions
from converters.fakes import celeba_text_hq as fake
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, Filtered, Reject

EXPECTED = {"train": 6, "test": 3}
FILTERED = {"no caption": 1}
REJECTED = {"no split": 1, "image missing": 1}


class TestCelebaTextHq(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, ALSO = "celeba_text_hq", EXPECTED, FILTERED, REJECTED, ("mm_celeba_hq",)

    def test_own_folder_first_then_mm_celeba_hq(self, outcomes):
        by_id = {o.source_id: o for o in outcomes}
        assert by_id["1"].source_path == "celeba_text_hq/CelebAimg/1.jpg"  # in both: this folder wins
        assert by_id["20"].source_path == "celeba_text_hq/CelebAimg/20.jpg"
        for idx in ("0", "2", "3"):
            assert by_id[idx].source_path == f"mm_celeba_hq/image/{idx}.jpg"
        missing = by_id[str(fake.MISSING_IMAGE)]
        assert missing.source_path == "celeba_text_hq/CelebAimg/5.jpg" and "mm_celeba_hq" in missing.detail


class TestCelebaTextHqOwnImagesCRLF(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "celeba_text_hq", EXPECTED, FILTERED, REJECTED, "own"


class TestCelebaTextHqWithoutImages(ConverterTest):
    """Without MM-CelebA-HQ beside it, the images users did not copy in are missing."""

    KEY, FILTERED = "celeba_text_hq", FILTERED
    SPLITS = {"train": 4, "test": 2}
    REJECTED = {"no split": 1, "image missing": 4}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("cthq")
    fake.make(root / "celeba_text_hq")
    from converters.fakes import mm_celeba_hq

    mm_celeba_hq.make(root / "mm_celeba_hq")
    return {o.source_id: o for o in convert("celeba_text_hq", root)}


def test_captions_and_flist_splits(outcomes):
    for idx in (0, 2, 20, 3, 22):
        record = outcomes[str(idx)]
        assert [t.text for t in record.texts] == fake.captions(idx)
        assert record.split == ("test" if idx in fake.TEST else "train")


def test_misencoded_pairs_become_one_space(outcomes):
    record = outcomes[str(fake.MISENCODED)]
    texts = [t.text for t in record.texts]
    assert texts[0] == "The woman has long black hair she is smiling"
    assert texts[1] == "Her skin is caf\ufffd au lait."  # a lone bad byte stays, as in the official code
    assert len(texts) == 10 and all("\ufffd\ufffd" not in t for t in texts)


def test_decode_captions():
    data = "\ufeffA face".encode() + b"\xa3\xac" + b"smiling\r\n\r\n  \r\nSecond  line \xa1\xa3\n"
    assert decode_captions(data) == ["A face smiling", "Second line"]


def test_empty_file_and_no_split(outcomes):
    empty = outcomes[str(fake.EMPTY)]
    assert isinstance(empty, Filtered) and empty.reason == "no caption"
    lost = outcomes[str(fake.NO_SPLIT)]
    assert isinstance(lost, Reject) and lost.reason == "no split" and "data_flist/train.flist" in lost.detail


def test_flist_lines_count_by_file_name(tmp_path):
    fake.make(tmp_path / "celeba_text_hq", variant="own")
    folder = tmp_path / "celeba_text_hq" / "CelebAText-HQ données" / "data_flist"
    (folder / "test.flist").write_text("C:\\data\\CelebAimg\\0.jpg\n./000001.jpg\n")
    records = {o.source_id: o for o in convert("celeba_text_hq", tmp_path) if isinstance(o, FaceRecord)}
    assert records["0"].split == "test" and records["1"].split == "test"  # in both flists: the held-out one
    assert records["2"].split == "train" and "3" not in records  # 3 is in no flist now
