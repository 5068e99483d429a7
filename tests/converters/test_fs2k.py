"""FS2K: extension-less image names, skin_color/skin_patch, inverted flags, NaN/empty colours, colour names."""

import json
import math

import pytest
import webcolors

from converters.fs2k import COLOUR_WORDS, entry_labels, nearest_colour, split_colour_name
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, Reject

EXPECTED = {"train": 5, "test": 3}
REJECTED = {"unknown label": 1, "malformed line": 2, "image missing": 1}


class TestFS2K(ConverterTest):
    KEY, SPLITS, REJECTED = "fs2k", EXPECTED, REJECTED


class TestFS2KNested(ConverterTest):
    KEY, SPLITS, REJECTED, VARIANT = "fs2k", EXPECTED, REJECTED, "nested"

    def test_non_ascii_spaced_name_resolves(self, outcomes):
        record = next(o for o in outcomes if isinstance(o, FaceRecord) and o.source_id == "photo2/imáge 0099")
        assert record.source_path == "fs2k/FS2K/photo/photo2/imáge 0099.jpg"


@pytest.fixture(scope="module")
def by_id(tmp_path_factory):
    from converters.fakes.fs2k import make

    root = tmp_path_factory.mktemp("fs2k")
    make(root / "fs2k")
    return {o.source_id: o for o in convert("fs2k", root)}


def test_text_and_inverted_flags(by_id):
    # earring 1 / smile 1 mean "without"; frontal_face 1 means rotated more than 30 degrees
    assert by_id["photo1/image0110"].texts[0].text == (
        "fs2k gender: male; hair: true; hair color: red; earring: false; smile: false; frontal face: false; "
        "style: 0; lip color: rosy brown; eye color: sienna;"
    )
    labels = by_id["photo1/image0002"].labels  # earring 0, smile 0, frontal 0, skin_patch instead of skin_color
    assert labels["earring"] is True and labels["smile"] is True and labels["frontal face"] is True
    assert labels["gender"] == "female" and labels["hair color"] == "black"


def test_extension_resolved_case_insensitively(by_id):
    assert by_id["photo3/image0449"].source_path == "fs2k/photo/photo3/image0449.JPG"
    assert by_id["photo2/image0001"].source_path == "fs2k/photo/photo2/image0001.png"
    assert by_id["photo1/image0110"].image.endswith("photo/photo1/image0110.jpg")


def test_nan_or_empty_colour_drops_only_that_key(by_id):
    nan_lip = by_id["photo2/image0001"].labels  # lip NaN; also no skin key at all
    assert "lip color" not in nan_lip and nan_lip["eye color"] == "light goldenrod yellow"
    assert nan_lip["hair"] is False and nan_lip["hair color"] == "no hair"
    empty_eye = by_id["photo3/image0449"].labels
    assert "eye color" not in empty_eye and empty_eye["lip color"] == "indian red"
    assert "eye color" not in by_id["photo3/image0300"].labels
    assert len(empty_eye) == 8


def test_json_nan_literal_is_read(tmp_path):
    from converters.fakes.fs2k import make

    make(tmp_path / "fs2k")
    assert "NaN" in (tmp_path / "fs2k" / "anno_train.json").read_text()
    record = next(o for o in convert("fs2k", tmp_path) if o.source_id == "photo2/image0001")
    assert isinstance(record, FaceRecord) and "lip color" not in record.texts[0].text


def test_sketches_are_not_records(by_id):
    assert all("sketch" not in o.source_path for o in by_id.values())


def test_rejects_name_entry_and_fault(by_id):
    assert "hair_color 7" in by_id["photo1/image0005"].detail and "anno_train.json entry 5" in by_id["photo1/image0005"].detail
    assert by_id["photo1/image0006"].reason == "malformed line" and "'gender' is missing" in by_id["photo1/image0006"].detail
    repeat = by_id["photo1/image0110 (anno_test.json entry 4)"]
    assert isinstance(repeat, Reject) and "repeats anno_train.json entry 0" in repeat.detail
    assert by_id["photo3/image0301"].reason == "image missing"


def test_nearest_colour():
    assert nearest_colour((188, 143, 142)) == "rosy brown"
    assert nearest_colour([128.0, 128.0, 128.0]) == "gray"  # gray/grey twins: gray
    assert nearest_colour((169, 169, 169)) == "dark gray" and nearest_colour((47, 79, 79)) == "dark slate gray"
    assert nearest_colour((250, 250, 210)) == "light goldenrod yellow"
    assert nearest_colour((0, 255, 255)) == "cyan" and nearest_colour((255, 0, 255)) == "magenta"
    assert nearest_colour((156.97750511247443, 82.51124744376278, 79.0)) == "sienna"
    assert nearest_colour((1.0, 2.0, 3.0)) == "black" and nearest_colour((254.6, 254.9, 255.0)) == "white"


def test_every_css3_name_splits_into_words():
    for name in webcolors.names("css3"):
        words = split_colour_name(name)
        assert words.replace(" ", "") == name and all(w in COLOUR_WORDS for w in words.split())
    assert split_colour_name("rosybrown") == "rosy brown"
    assert split_colour_name("lightgoldenrodyellow") == "light goldenrod yellow"
    assert split_colour_name("mediumseagreen") == "medium sea green"
    assert split_colour_name("darkslategray") == "dark slate gray"
    assert split_colour_name("cornflowerblue") == "cornflower blue"
    assert split_colour_name("mediumaquamarine") == "medium aquamarine"
    assert split_colour_name("palevioletred") == "pale violet red"
    assert split_colour_name("tan") == "tan" and split_colour_name("goldenrod") == "goldenrod"
    with pytest.raises(ValueError):
        split_colour_name("rebeccapurplish")


def test_colour_shapes():
    base = {"gender": 0, "hair": 0, "hair_color": 1, "earring": 1, "smile": 1, "frontal_face": 0, "style": 2}
    assert list(entry_labels(base | {"lip_color": [math.nan, 1.0, 2.0], "eye_color": None})) == [
        "gender", "hair", "hair color", "earring", "smile", "frontal face", "style"]
    with pytest.raises(ValueError, match="not \\[R, G, B\\]"):
        entry_labels(base | {"lip_color": [1.0, 2.0]})
    with pytest.raises(ValueError, match="not numeric"):
        entry_labels(base | {"eye_color": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="not an integer"):
        entry_labels(base | {"style": "0"})


def test_name_written_with_extension(tmp_path):
    from converters.fakes import fake_face, save_image, write_text

    entry = {"image_name": "photo1/image0007.jpg", "lip_color": [], "eye_color": [], "hair": 0, "hair_color": 0,
             "gender": 1, "earring": 0, "smile": 0, "frontal_face": 0, "style": 1}
    write_text(tmp_path / "fs2k" / "anno_test.json", json.dumps([entry]))
    save_image(fake_face(1, (20, 20)), tmp_path / "fs2k" / "photo" / "photo1" / "image0007.jpg")
    (record,) = convert("fs2k", tmp_path)
    assert isinstance(record, FaceRecord) and record.split == "test"
    assert record.texts[0].text == "fs2k gender: female; hair: true; hair color: brown; earring: true; smile: true; frontal face: true; style: 1;"
