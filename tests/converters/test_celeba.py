"""CelebA on its official, flat (CRLF), Kaggle-CSV and nested layouts."""

from converters.celeba import ATTRIBUTES
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, parse_attributes

EXPECTED = {"train": 4, "val": 2, "test": 2}
REJECTED = {"malformed line": 1, "unknown label": 1, "image missing": 1, "no split": 1}


class TestCelebAOfficial(ConverterTest):
    KEY, SPLITS, REJECTED = "celeba", EXPECTED, REJECTED


class TestCelebAFlatCRLF(ConverterTest):
    KEY, SPLITS, REJECTED, VARIANT = "celeba", EXPECTED, REJECTED, "flat"


class TestCelebAKaggle(ConverterTest):
    KEY, SPLITS, REJECTED, VARIANT = "celeba", EXPECTED, REJECTED, "kaggle"


class TestCelebANested(ConverterTest):
    KEY, SPLITS, REJECTED, VARIANT = "celeba", EXPECTED, REJECTED, "nested"

    def test_source_path_keeps_the_extra_folder(self, outcomes):
        record = next(o for o in outcomes if isinstance(o, FaceRecord))
        assert record.source_path == f"celeba/CelebA/Img/img_align_celeba/{record.source_id}"


def test_text_follows_the_native_row(tmp_path):
    from converters.fakes.celeba import make, rows

    make(tmp_path / "celeba")
    record = next(o for o in convert("celeba", tmp_path) if isinstance(o, FaceRecord) and o.source_id == "000001.jpg")
    values = rows()["000001.jpg"]
    prefix, labels = parse_attributes(record.texts[0].text)
    assert prefix == "celeba"
    assert list(labels)[0] == "gender" and labels["gender"] == ("male" if values[ATTRIBUTES.index("Male")] == "1" else "female")
    assert labels["5 o clock shadow"] is (values[0] == "1")
    assert labels["no beard"] is (values[ATTRIBUTES.index("No_Beard")] == "1")
    assert len(labels) == 40 and "male" not in labels
    assert record.split == "train" and record.texts[0].text.endswith(";")


def test_reject_names_file_and_line(tmp_path):
    from converters.fakes.celeba import make
    from schemas import Reject

    make(tmp_path / "celeba")
    reject = next(o for o in convert("celeba", tmp_path) if isinstance(o, Reject) and o.reason == "malformed line")
    assert reject.source_id == "000005.jpg"
    assert "Anno/list_attr_celeba.txt line 7" in reject.detail and "expected 41 fields, got 40" in reject.detail
