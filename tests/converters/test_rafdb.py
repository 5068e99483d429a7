"""RAF-DB: misspelt and correct label file names, aligned images, prefix splits, the compound subset."""

from converters.rafdb import aligned_name, is_compound_list
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, Filtered

EXPECTED = {"train": 5, "test": 3}
FILTERED = {"compound expression": 1}
REJECTED = {"malformed line": 2, "unknown label": 1, "no split": 1, "image missing": 1}


class TestRafDB(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED = "rafdb", EXPECTED, FILTERED, REJECTED


class TestRafDBFullDownload(ConverterTest):
    """``basic/`` (correct spelling, CRLF) beside ``compound/``: only basic is read."""

    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "rafdb", EXPECTED, FILTERED, REJECTED, "basic"

    def test_reads_basic_not_compound(self, outcomes):
        assert all(o.source_path.startswith("rafdb/basic/") for o in outcomes)
        spaced = next(o for o in outcomes if o.source_id == "train_00005 é.jpg")
        assert isinstance(spaced, FaceRecord) and spaced.source_path.endswith("train_00005 é_aligned.jpg")


class TestRafDBCompound(ConverterTest):
    """The compound subset's list (same file name): every line filtered, none read as a basic emotion."""

    KEY, SPLITS, FILTERED, VARIANT = "rafdb", {}, {"compound expression": 6}, "compound"

    def test_low_compound_labels_are_not_mislabelled(self, outcomes):
        happily_surprised = next(o for o in outcomes if o.source_id == "test_0001.jpg")  # compound label 1
        assert isinstance(happily_surprised, Filtered) and "compound" in happily_surprised.detail


def test_text_split_and_aligned_image(tmp_path):
    from converters.fakes.rafdb import make

    make(tmp_path / "rafdb")
    out = {o.source_id: o for o in convert("rafdb", tmp_path)}
    assert out["train_00001.jpg"].texts[0].text == "rafdb expression: sadness;"
    assert out["train_00001.jpg"].source_path == "rafdb/Image/aligned/train_00001_aligned.jpg"
    assert out["train_00004.jpg"].labels == {"expression": "surprise"} and out["train_00004.jpg"].split == "train"
    assert out["test_0002.jpg"].texts[0].text == "rafdb expression: anger;" and out["test_0002.jpg"].split == "test"
    assert out["train_00006.jpg"].reason == "compound expression"  # label 9 in a basic list
    assert out["val_00001.jpg"].reason == "no split" and "line 10" in out["val_00001.jpg"].detail
    assert out["train_00009.jpg"].reason == "malformed line" and "line 9" in out["train_00009.jpg"].detail
    assert "repeats line 1" in out["train_00001.jpg (EmoLabel/list_patition_label.txt line 14)"].detail


def test_compound_detection():
    assert not is_compound_list([("train_00001.jpg", 5), ("train_00002.jpg", 9)])  # basic names: one odd label
    assert is_compound_list([("train_0001.jpg", 6), ("train_0056.jpg", 11), ("test_0001.jpg", 1)])
    assert is_compound_list([("test_0001.jpg", 1), ("test_0002.jpg", 10)])
    assert not is_compound_list([("train_0001.jpg", 6), ("test_0001.jpg", 7)])
    assert not is_compound_list([])
    assert aligned_name("test_0001.jpg") == "test_0001_aligned.jpg"
