"""ExpW: one record per face line, top/left/right/bottom boxes, duplicates, hash splits, confidence option."""

import pytest

from converters.expw import ExpW
from converters.testing import ConverterTest, convert
from schemas import Box, FaceRecord, Filtered, stable_split

EXPECTED = {"train": 5, "val": 1, "test": 2}
FILTERED = {"duplicate": 1}
REJECTED = {"unknown label": 1, "malformed line": 2, "bad face box": 1, "image missing": 1}


class TestExpW(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED = "expw", EXPECTED, FILTERED, REJECTED


class TestExpWMirror(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "expw", EXPECTED, FILTERED, REJECTED, "mirror"

    def test_spaced_name_and_data_folder(self, outcomes):
        record = next(o for o in outcomes if o.source_id == "amazed actor é 579.jpg#0")
        assert record.source_path == "expw/ExpW/data/image/origin/amazed actor é 579.jpg"


class TestExpWMinConfidence(ConverterTest):
    """With ``min_confidence=60`` the low-scoring faces are filtered (checked before image presence)."""

    KEY, OPTIONS = "expw", {"min_confidence": 60}
    SPLITS = {"train": 2, "val": 1, "test": 1}
    FILTERED = {"duplicate": 1, "low confidence": 5}
    REJECTED = {"unknown label": 1, "malformed line": 2, "bad face box": 1}


@pytest.fixture(scope="module")
def by_id(tmp_path_factory):
    from converters.fakes.expw import make

    root = tmp_path_factory.mktemp("expw")
    make(root / "expw")
    return {o.source_id: o for o in convert("expw", root)}


def test_box_columns_are_top_left_right_bottom(by_id):
    record = by_id["afraid_African_214.jpg#0"]  # 0 33 275 342 100: top 33, left 275, right 342, bottom 100
    assert record.box == Box(left=275, top=33, right=342, bottom=100)
    assert record.box.width == record.box.height == 67
    assert record.texts[0].text == "expw expression: fear;"


def test_one_record_per_face_same_split_per_image(by_id):
    faces = [o for o in by_id.values() if isinstance(o, FaceRecord) and o.source_id.startswith("angry_actor_611.jpg#")]
    assert sorted(o.source_id for o in faces) == ["angry_actor_611.jpg#0", "angry_actor_611.jpg#1"]
    assert {o.image for o in faces} == {by_id["angry_actor_611.jpg#0"].image}
    for record in by_id.values():
        if isinstance(record, FaceRecord):
            assert record.split == stable_split(record.source_id.rsplit("#", 1)[0])


def test_exact_repeat_is_filtered_once_and_a_conflict_rejected(by_id):
    repeat = by_id["angry_actor_611.jpg#1 line 6"]
    assert isinstance(repeat, Filtered) and repeat.reason == "duplicate" and "repeats line 5" in repeat.detail
    conflict = by_id["angry_actor_57.jpg#0 line 14"]
    assert conflict.reason == "malformed line" and "differs from line 7" in conflict.detail
    assert by_id["angry_actor_57.jpg#0"].labels == {"expression": "happy"}  # the first line stands


def test_rejects(by_id):
    assert by_id["angry_actor_13.jpg#0"].reason == "unknown label"
    assert by_id["angry_actor_104.jpg"].reason == "malformed line" and "got 5" in by_id["angry_actor_104.jpg"].detail
    assert by_id["angry_actor_120.jpg#1"].reason == "bad face box"
    assert by_id["angry_African_97.jpg#3"].reason == "image missing"


def test_confidence_option():
    assert ExpW().min_confidence is None
    with pytest.raises(TypeError):
        ExpW(threshold=3)  # type: ignore[call-arg]


def test_decimal_boxes_and_leading_space(tmp_path):
    from converters.fakes import fake_face, save_image, write_text

    write_text(tmp_path / "expw" / "label" / "label.lst", " a b.jpg 0 10.5 20 60 50.5 70.1 3\nc.jpg 0 1 2 x 4 5 3\n")
    save_image(fake_face(1, (80, 80)), tmp_path / "expw" / "image" / "origin" / "a b.jpg")
    first, second = convert("expw", tmp_path)
    assert first.source_id == "a b.jpg#0" and first.box == Box(left=20.0, top=10.5, right=60.0, bottom=50.5)
    assert second.reason == "malformed line" and "non-numeric" in second.detail and "line 2" in second.detail
