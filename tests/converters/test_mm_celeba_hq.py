"""MM-CelebA-HQ on its three image layouts, and its pickles read without executing pickle code."""

import os
import pickle

import pytest

from converters.base import ConverterError, DatasetRoot
from converters.fakes import mm_celeba_hq as fake
from converters.mm_celeba_hq import read_name_list
from converters.testing import ConverterTest, convert
from schemas import FaceRecord, Filtered, Reject

EXPECTED = {"train": 6, "test": 3}
FILTERED = {"no caption": 1}
REJECTED = {"no split": 1, "image missing": 1}


class TestMmCelebaHq(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED = "mm_celeba_hq", EXPECTED, FILTERED, REJECTED


class TestMmCelebaHqImagesPy2(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "mm_celeba_hq", EXPECTED, FILTERED, REJECTED, "images"

    def test_zero_padded_images_are_matched_by_number(self, outcomes):
        record = next(o for o in outcomes if isinstance(o, FaceRecord) and o.source_id == "4")
        assert record.source_path == "mm_celeba_hq/image/images/000004.jpg"


class TestMmCelebaHqCelebAMaskLayout(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "mm_celeba_hq", EXPECTED, FILTERED, REJECTED, "hq"

    def test_images_from_celeba_hq_img(self, outcomes):
        record = next(o for o in outcomes if isinstance(o, FaceRecord))
        assert record.source_path == f"mm_celeba_hq/multi-modal celeba/CelebA-HQ-img/{record.source_id}.jpg"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("mm")
    fake.make(root / "mm_celeba_hq")
    return {o.source_id: o for o in convert("mm_celeba_hq", root)}


def test_ten_captions_per_file_and_pickle_splits(outcomes):
    for idx in (*fake.TRAIN, *fake.TEST):
        if idx in (fake.EMPTY, fake.MISSING_IMAGE):
            continue
        record = outcomes[str(idx)]
        assert [t.text for t in record.texts] == fake.captions(idx) and len(record.texts) == 10
        assert record.split == ("test" if idx in fake.TEST else "train")


def test_empty_caption_file_and_no_split(outcomes):
    empty = outcomes[str(fake.EMPTY)]
    assert isinstance(empty, Filtered) and empty.reason == "no caption"
    lost = outcomes[str(fake.NO_SPLIT)]
    assert isinstance(lost, Reject) and lost.reason == "no split" and "train/filenames.pickle" in lost.detail
    assert outcomes[str(fake.MISSING_IMAGE)].reason == "image missing"


class Exploit:
    """A pickle payload that runs a shell command when a plain ``pickle.load`` reads it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["reduce", "nested", "class"])
def test_a_malicious_pickle_is_refused_without_running(tmp_path, payload):
    marker = tmp_path / "pwned"
    value = {"reduce": Exploit(marker), "nested": ["1", "2", Exploit(marker)], "class": [DatasetRoot]}[payload]
    (tmp_path / "ds" / "train").mkdir(parents=True)
    (tmp_path / "ds" / "train" / "filenames.pickle").write_bytes(pickle.dumps(value))
    root = DatasetRoot(str(tmp_path / "ds"), "mm_celeba_hq")
    with pytest.raises(ConverterError, match=r"mm_celeba_hq/train/filenames.pickle.*refused to load the global"):
        read_name_list(root, "train/filenames.pickle")
    assert not marker.exists()


@pytest.mark.parametrize("value, fault", [({"0": 1}, "holds a dict"), (["0", 7], "entry 1 is a int"),
                                         ([b"\xff"], "not UTF-8"), (None, "holds a NoneType")])
def test_anything_but_a_list_of_names_is_refused(tmp_path, value, fault):
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "filenames.pickle").write_bytes(pickle.dumps(value))
    with pytest.raises(ConverterError, match=fault):
        read_name_list(DatasetRoot(str(tmp_path), "mm_celeba_hq"), "test/filenames.pickle")


def test_truncated_pickle_is_refused(tmp_path):
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "filenames.pickle").write_bytes(pickle.dumps(["1", "2"])[:-3])
    with pytest.raises(ConverterError, match="test/filenames.pickle"):
        read_name_list(DatasetRoot(str(tmp_path), "mm_celeba_hq"), "test/filenames.pickle")


def test_python2_and_bytes_pickles_give_the_same_names(tmp_path):
    names = ["0", "12", "29999"]
    for i, data in enumerate((pickle.dumps(names, protocol=2), fake.py2_pickle(names),
                              pickle.dumps([n.encode() for n in names], protocol=3), pickle.dumps(tuple(names)))):
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "filenames.pickle").write_bytes(data)
        assert read_name_list(DatasetRoot(str(tmp_path), "mm_celeba_hq"), f"{i}/filenames.pickle") == names


def test_a_hostile_split_pickle_stops_the_conversion(tmp_path):
    fake.make(tmp_path / "mm_celeba_hq")
    marker = tmp_path / "pwned"
    (tmp_path / "mm_celeba_hq" / "test" / "filenames.pickle").write_bytes(pickle.dumps(Exploit(marker)))
    with pytest.raises(ConverterError, match="test/filenames.pickle"):
        convert("mm_celeba_hq", tmp_path)
    assert not marker.exists()
