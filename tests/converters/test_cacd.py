"""CACD: the .mat struct read by field name (two field orders), nested cells, identity-hash splits."""

import io

import numpy as np
import pytest
import scipy.io

from converters.base import ConverterError
from converters.cacd import FIELDS, cell_string
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, stable_split

EXPECTED = {"train": 5, "val": 2, "test": 1}
REJECTED = {"malformed line": 2, "image missing": 1}


class TestCACD(ConverterTest):
    KEY, SPLITS, REJECTED = "cacd", EXPECTED, REJECTED
    PERSON_IDS = {"53_Robin_Williams_0001.jpg": "cacd:1", "53_Robin_Williams_0002.jpg": "cacd:1",
                  "31_Dana_O'Neil_0001.jpg": "cacd:24", "23_Katie_Findlay_0013.jpg": "cacd:2000"}
    PERSON_DISJOINT = True  # the split is the stable hash of the identity column


class TestCACDReordered(ConverterTest):
    """The same data with the struct's fields in another order, in an extra ``CACD/`` folder."""

    KEY, SPLITS, REJECTED, VARIANT = "cacd", EXPECTED, REJECTED, "reordered"
    PERSON_IDS, PERSON_DISJOINT = TestCACD.PERSON_IDS, True  # the identity column found by name, not position


def test_fake_loads_like_the_real_file():
    from converters.fakes.cacd import REORDERED, meta_bytes

    mat = scipy.io.loadmat(io.BytesIO(meta_bytes()))
    data = mat["celebrityImageData"]
    assert data.shape == (1, 1) and data.dtype.names == FIELDS
    d = data[0][0]
    assert d[0].dtype == np.uint8 and d[0].shape == (11, 1) and d[0][0][0] == 53  # age
    assert d[1].dtype == np.uint16 and d[3].shape == (0, 0)  # identity; feature is empty in _meta
    assert d[7].dtype == object and d[7].shape == (11, 1)
    assert str(d[7][0][0][0]) == "53_Robin_Williams_0001.jpg" and str(d["name"][3][0][0]) == "23_Katie_Findlay_0013.jpg"
    assert mat["celebrityData"].dtype.names == ("name", "identity", "birth", "rank", "lfw")
    other = scipy.io.loadmat(io.BytesIO(meta_bytes(REORDERED)))["celebrityImageData"]
    assert other.dtype.names == REORDERED and other[0][0][0][0][0][0] == "53_Robin_Williams_0001.jpg"  # position 0 is name
    assert meta_bytes() == meta_bytes()  # deterministic bytes (scipy's time stamp is replaced)


def test_both_field_orders_give_the_same_records(tmp_path):
    from converters.fakes.cacd import make

    make(tmp_path / "a" / "cacd")
    make(tmp_path / "b" / "cacd", variant="reordered")
    a, b = ([(o.source_id, o.split, o.texts) for o in convert("cacd", tmp_path / d) if isinstance(o, FaceRecord)] for d in "ab")
    assert a == b and len(a) == 8


def test_text_and_split(tmp_path):
    from converters.fakes.cacd import make

    make(tmp_path / "cacd")
    out = {o.source_id: o for o in convert("cacd", tmp_path)}
    assert out["53_Robin_Williams_0001.jpg"].texts[0].text == "cacd age: 53;"
    assert out["53_Robin_Williams_0001.jpg"].source_path == "cacd/CACD2000/53_Robin_Williams_0001.jpg"
    assert out["31_Dana_O'Neil_0001.jpg"].split == stable_split("24") == "val"
    assert out["40_J._R._Example_0002.jpg"].split == stable_split("27") == "test"
    assert out["28_Zoë_Exämple_0001.jpg"].labels == {"age": 28}
    assert "row 9: empty name cell" in out["celebrityImageData row 9"].detail
    assert "repeats row 1" in out["53_Robin_Williams_0001.jpg (row 11)"].detail
    assert out["45_Missing_Person_0001.jpg"].reason == "image missing"


def test_cell_string():
    assert cell_string(np.array([np.array(["x.jpg"])], dtype=object)) == "x.jpg"
    assert cell_string(np.array(["x.jpg"])) == "x.jpg"
    assert cell_string(np.zeros((0,), dtype="<U1")) is None


def test_unreadable_or_v73_file_is_a_clear_error(tmp_path):
    folder = tmp_path / "cacd"
    folder.mkdir()
    (folder / "celebrity2000.mat").write_bytes(b"MATLAB 7.3 MAT-file, HDF5 schema")
    with pytest.raises(ConverterError, match="v7.3"):
        convert("cacd", tmp_path)
    v73 = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116) + bytes(8) + b"\x00\x02IM" + bytes(512)
    (folder / "celebrity2000_meta.mat").write_bytes(v73)
    with pytest.raises(ConverterError, match="MATLAB v7.3 file"):
        convert("cacd", tmp_path)
    (folder / "celebrity2000_meta.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(ConverterError, match="not a readable MATLAB file"):
        convert("cacd", tmp_path)
    out = io.BytesIO()
    scipy.io.savemat(out, {"celebrityImageData": {"age": np.array([[30]]), "identity": np.array([[1]])}})
    (folder / "celebrity2000_meta.mat").write_bytes(out.getvalue())
    with pytest.raises(ConverterError, match="fields age, identity, name"):
        convert("cacd", tmp_path)


def test_double_columns_are_accepted_when_whole(tmp_path):
    from converters.fakes import fake_face, save_image

    folder = tmp_path / "cacd"
    names = np.empty((3, 1), dtype=object)
    for i, name in enumerate(("30_A_B_0001.jpg", "31_A_B_0002.jpg", "32_A_B_0003.jpg")):
        names[i, 0] = np.array([name])
        save_image(fake_face(i, (20, 20)), folder / "CACD2000" / name)
    struct = np.empty((1, 1), dtype=[("age", "O"), ("identity", "O"), ("name", "O")])
    struct[0, 0]["age"] = np.array([[30.0], [np.nan], [32.5]])
    struct[0, 0]["identity"] = np.array([[7.0], [7.0], [7.0]])
    struct[0, 0]["name"] = names
    scipy.io.savemat(folder / "celebrity2000_meta.mat", {"celebrityImageData": struct})
    out = convert("cacd", tmp_path)
    assert isinstance(out[0], FaceRecord) and out[0].labels == {"age": 30} and out[0].split == stable_split("7")
    assert [o.reason for o in out[1:]] == ["malformed line", "malformed line"]
    assert "row 2: age or identity is not a whole number" in out[1].detail
