"""AffectNet: header sniffing, `;`-joined landmarks, 8/9/10 filtered, -2 valence/arousal, raw crop box."""

import pytest

from converters.testing import ConverterTest, convert
from schemas import Box, FaceRecord, Filtered, Reject

EXPECTED = {"train": 5, "val": 3}
FILTERED = {"none": 1, "uncertain": 1, "non-face": 2}
REJECTED = {"unknown label": 1, "malformed line": 2, "image missing": 1, "bad face box": 1}


class TestAffectNet(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED = "affectnet", EXPECTED, FILTERED, REJECTED


class TestAffectNetHeaderless(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "affectnet", EXPECTED, FILTERED, REJECTED, "headerless"


class TestAffectNetCompressed(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "affectnet", EXPECTED, FILTERED, REJECTED, "compressed"


@pytest.fixture(scope="module")
def by_id(tmp_path_factory):
    from converters.fakes.affectnet import make

    root = tmp_path_factory.mktemp("affectnet")
    make(root / "affectnet")
    return {o.source_id: o for o in convert("affectnet", root)}


def test_text_and_raw_box(by_id):
    record = by_id["689/737db2483489148d783ef278f43f486c0a97e140fc4b6b61b84363ca.jpg"]
    assert record.texts[0].text == "affectnet expression: happy; valence: 0.79; arousal: -0.06;"
    assert record.box == Box.from_xywh(8, 8, 40, 40) == Box(8, 8, 48, 48)  # no margin here: the pipeline adds it
    assert record.labels == {"expression": "happy", "valence": 0.79, "arousal": -0.06}
    assert record.source_path == "affectnet/Manually_Annotated_Images/689/737db2483489148d783ef278f43f486c0a97e140fc4b6b61b84363ca.jpg"


def test_not_annotated_valence_or_arousal_drops_that_key(by_id):
    assert by_id["12/3b1c0e55aa.png"].texts[0].text == "affectnet expression: contempt; arousal: 0.51;"
    assert by_id["12/4c2d1f66bb.JPG"].texts[0].text == "affectnet expression: sad; valence: -0.67;"


def test_rounding_never_writes_minus_zero(by_id):
    record = by_id["2/9db2af5a1da8bd77355e8c6a655da519a899ecc42641bf254107bfc0.jpg"]
    assert record.texts[0].text == "affectnet expression: neutral; valence: 0.00; arousal: 0.10;"


def test_expressions_8_9_10_are_filtered_with_their_reason(by_id):
    reasons = {k: o.reason for k, o in by_id.items() if isinstance(o, Filtered)}
    assert reasons == {"7/none.jpg": "none", "7/uncertain.jpg": "uncertain", "7/nonface.jpg": "non-face", "31/nf.jpg": "non-face"}


def test_rejects_name_file_and_line(by_id):
    assert "training.csv line 11" in by_id["7/short.jpg"].detail and "expected 9 columns, got 8" in by_id["7/short.jpg"].detail
    assert "expression 11" in by_id["7/eleven.jpg"].detail
    assert by_id["31/flat.jpg"].reason == "bad face box"
    repeat = by_id["400/odd.jpg (Manually_Annotated_file_lists/validation.csv line 7)"]
    assert isinstance(repeat, Reject) and "repeats Manually_Annotated_file_lists/training.csv line 6" in repeat.detail


def test_validation_csv_without_header_reads_its_first_row(tmp_path):
    from converters.fakes.affectnet import make

    make(tmp_path / "affectnet", variant="headerless")
    first = (tmp_path / "affectnet" / "Manually_Annotated_file_lists" / "validation.csv").read_text().splitlines()[0]
    assert first.startswith("30/a1.jpg,")
    record = next(o for o in convert("affectnet", tmp_path) if o.source_id == "30/a1.jpg")
    assert isinstance(record, FaceRecord) and record.split == "val"
    assert record.texts[0].text == "affectnet expression: surprise; valence: 0.33; arousal: 0.67;"


def test_landmarks_are_one_semicolon_joined_field(tmp_path):
    from converters.fakes.affectnet import make

    make(tmp_path / "affectnet")
    row = (tmp_path / "affectnet" / "Manually_Annotated_file_lists" / "training.csv").read_text().splitlines()[1]
    assert len(row.split(",")) == 9 and len(row.split(",")[5].split(";")) == 136


def test_out_of_range_valence_is_rejected(tmp_path):
    from converters.fakes import fake_face, save_image, write_text

    folder = tmp_path / "affectnet"
    write_text(folder / "Manually_Annotated_file_lists" / "training.csv",
               "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n"
               "1/a.jpg,0,0,10,10,1;2,1,1.5,0.2\n1/b.jpg,0,0,10,10,1;2,x,0.1,0.2\n")
    save_image(fake_face(1, (20, 20)), folder / "Manually_Annotated_Images" / "1" / "a.jpg")
    out = {o.source_id: o for o in convert("affectnet", tmp_path)}
    assert out["1/a.jpg"].reason == "unknown label" and "valence 1.5" in out["1/a.jpg"].detail
    assert out["1/b.jpg"].reason == "malformed line" and "line 3" in out["1/b.jpg"].detail
