"""AFAD: records from AFAD-Full.txt (``./`` prefixes), age/gender folders, Thumbs.db, user-id splits."""

import pytest

from converters.afad import user_id
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, stable_split

EXPECTED = {"train": 6, "val": 2, "test": 1}
REJECTED = {"malformed line": 1, "malformed file name": 1, "unknown label": 1, "image missing": 1}


class TestAFAD(ConverterTest):
    KEY, SPLITS, REJECTED = "afad", EXPECTED, REJECTED
    PERSON_IDS = {"15/111/109008-0.jpg": "afad:109008", "15/111/56703-10.jpg": "afad:56703",
                  "22/111/278878-0.jpg": "afad:278878", "23/112/278878-1.jpg": "afad:278878"}
    PERSON_DISJOINT = True  # the user id before the dash, across age and gender folders


class TestAFADFlat(ConverterTest):
    KEY, SPLITS, REJECTED, VARIANT = "afad", EXPECTED, REJECTED, "flat"

    def test_spaced_name(self, outcomes):
        record = next(o for o in outcomes if o.source_id == "15/112/106534-0 é.jpg")
        assert record.source_path == "afad/15/112/106534-0 é.jpg" and record.split == stable_split("106534")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    from converters.fakes.afad import make

    root = tmp_path_factory.mktemp("afad")
    make(root / "afad")
    return root, {o.source_id: o for o in convert("afad", root)}


def test_text_from_folders(made):
    _, out = made
    assert out["15/111/109008-0.jpg"].texts[0].text == "afad age: 15; gender: male;"
    assert out["23/112/278878-1.jpg"].labels == {"age": 23, "gender": "female"}
    assert out["15/111/109008-0.jpg"].source_path == "afad/AFAD-Full/15/111/109008-0.jpg"


def test_split_by_user_id_across_gender_folders(made):
    _, out = made
    assert out["22/111/278878-0.jpg"].split == out["23/112/278878-1.jpg"].split == stable_split("278878")
    assert out["40/112/100002-0.jpg"].split == out["41/112/100002-1.jpg"].split == "val"
    assert out["72/111/100017-3.jpg"].split == "test"
    assert user_id("56703-10.jpg") == "56703"


def test_thumbs_db_and_unlisted_images_are_not_records(made):
    root, out = made
    assert list((root / "afad" / "AFAD-Full").glob("*/*/Thumbs.db"))  # the strays exist on disk
    assert (root / "afad" / "AFAD-Full" / "33" / "111" / "300003-0.jpg").is_file()  # on disk, not listed
    assert not any("Thumbs.db" in k or "300003" in k for k in out)


def test_list_lines_that_fail(made):
    _, out = made
    assert "repeats line 1" in out["15/111/109008-0.jpg (line 10)"].detail
    assert out["16/111"].reason == "malformed file name" and "line 11" in out["16/111"].detail
    assert out["30/113/200001-0.jpg"].reason == "unknown label"
    assert out["31/112/200002-0.jpg"].reason == "image missing"  # listed, file missing: rejected


def test_a_listed_thumbs_db_is_not_an_image_not_a_record(tmp_path):
    from converters.fakes import fake_face, save_image, write_text

    folder = tmp_path / "afad"
    write_text(folder / "AFAD-Full.txt", "./20/111/1-0.jpg\n./20/111/Thumbs.db\n./x/111/2-0.jpg\n")
    save_image(fake_face(1, (20, 20)), folder / "20" / "111" / "1-0.jpg")
    (folder / "20" / "111" / "Thumbs.db").write_bytes(b"x")
    out = convert("afad", tmp_path)
    assert [type(o).__name__ for o in out] == ["FaceRecord", "Reject", "Reject"]
    assert isinstance(out[0], FaceRecord) and out[0].labels == {"age": 20, "gender": "male"}
    assert [o.reason for o in out[1:]] == ["not an image", "malformed file name"]
