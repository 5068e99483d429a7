"""FairFace on clean, Excel-mangled and prefixed copies."""

from converters.fairface import repair_age
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, Reject

EXPECTED = {"train": 6, "val": 3}
REJECTED = {"unknown label": 1, "image missing": 1}


class TestFairFace(ConverterTest):
    KEY, SPLITS, REJECTED = "fairface", EXPECTED, REJECTED


class TestFairFaceExcel(ConverterTest):
    KEY, SPLITS, REJECTED, VARIANT = "fairface", EXPECTED, REJECTED, "excel"


class TestFairFacePrefixed(ConverterTest):
    KEY, SPLITS, REJECTED, VARIANT = "fairface", EXPECTED, REJECTED, "prefixed"


def test_excel_copy_gives_the_same_texts_as_the_clean_one(tmp_path):
    from converters.fakes.fairface import make

    make(tmp_path / "a" / "fairface")
    make(tmp_path / "b" / "fairface", variant="excel")
    texts = [[o.texts[0].text for o in convert("fairface", tmp_path / d) if isinstance(o, FaceRecord)] for d in "ab"]
    assert texts[0] == texts[1]
    assert "fairface age: 3-9; gender: female; race: black;" in texts[0]
    assert "fairface age: 50-59; gender: male; race: east asian;" in texts[0]


def test_repair_age():
    assert [repair_age(v) for v in ("9-Mar", "03-Sep", "Sep-03", "Oct-19", "19-Oct", "20-29", "more than 70")] == [
        "3-9", "3-9", "3-9", "10-19", "10-19", "20-29", "more than 70"]


def test_unknown_race_is_rejected_with_the_line(tmp_path):
    from converters.fakes.fairface import make

    make(tmp_path / "fairface")
    reject = next(o for o in convert("fairface", tmp_path) if isinstance(o, Reject) and o.reason == "unknown label")
    assert reject.source_id == "train/7.jpg" and "line 8" in reject.detail and "Martian" in reject.detail
