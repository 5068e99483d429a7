"""IMDB-WIKI on the crop release, the .mat beside the crop folders, the full-image release and a nested copy."""

import datetime

import numpy as np
import pytest
import scipy.io

from converters.base import ConverterError, DatasetRoot
from converters.fakes import imdb_wiki as fake
from converters.imdb_wiki import ImdbWiki, birth_year_month
from converters.testing import ConverterTest, convert
from schemas import Box, FaceRecord, Filtered, Reject, stable_split

EXPECTED = {"train": 4, "val": 5, "test": 2}
FILTERED = {"no face": 3, "several faces": 2, "implausible age": 3}
REJECTED = {"image missing": 1, "unknown label": 1, "malformed line": 3}


class TestImdbWikiCrop(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED = "imdb_wiki", EXPECTED, FILTERED, REJECTED
    PERSON_IDS = {"imdb_crop/01/nm0000001_rm124825600_1899-5-10_1968.jpg": "imdb:nm0000001",
                  "imdb_crop/01/nm0000001_rm3343756032_1899-5-10_1970.jpg": "imdb:nm0000001",
                  "wiki_crop/17/10000217_1981-05-05_2009.jpg": "wiki:10000217"}  # the subset names the id space
    PERSON_DISJOINT = True


class TestImdbWikiBeside(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "imdb_wiki", EXPECTED, FILTERED, REJECTED, "beside"


class TestImdbWikiFull(ConverterTest):
    KEY, FILTERED, VARIANT = "imdb_wiki", FILTERED, "full"
    SPLITS = {"train": 4, "val": 4, "test": 2}  # the row with a bad face_location is rejected here
    REJECTED = {**REJECTED, "bad face box": 1}

    def test_whole_photos_carry_the_face_box(self, outcomes):
        records = [o for o in outcomes if isinstance(o, FaceRecord)]
        assert records and all(r.box == Box(20.5, 15.25, 90.0, 85.0) for r in records)
        assert records[0].source_id.startswith("imdb/01/")
        bad = next(o for o in outcomes if isinstance(o, Reject) and o.reason == "bad face box")
        assert bad.source_id == f"imdb/{fake.BAD_BOX_ROW}" and "imdb/imdb.mat row 5" in bad.detail


class TestImdbWikiNested(ConverterTest):
    KEY, SPLITS, FILTERED, REJECTED, VARIANT = "imdb_wiki", EXPECTED, FILTERED, REJECTED, "nested"

    def test_source_path_keeps_the_extra_folder(self, outcomes):
        record = next(o for o in outcomes if isinstance(o, FaceRecord))
        assert record.source_path == f"imdb_wiki/IMDB-WIKI données/{record.source_id}"
        assert record.source_id.startswith("imdb_crop/")  # the id does not depend on the extra folder


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("imdb_wiki")
    fake.make(root / "imdb_wiki")
    return {o.source_id: o for o in convert("imdb_wiki", root)}


def text_of(outcomes, sid):
    record = outcomes[sid]
    assert isinstance(record, FaceRecord), record
    return record.texts[0].text


def test_mid_year_rule(outcomes):
    assert text_of(outcomes, "imdb_crop/01/nm0000001_rm124825600_1899-5-10_1968.jpg") == "imdb age: 69; gender: male;"
    assert text_of(outcomes, "imdb_crop/08/nm0000008_rm946909184_1924-9-16_2004.jpg") == "imdb age: 79; gender: female;"
    assert outcomes["imdb_crop/14/nm0000014_rm2219180800_1950-6-30_1990.jpg"].labels["age"] == 40  # born 30 June
    assert outcomes["wiki_crop/42/10005642_1948-07-03_2008.jpg"].labels["age"] == 59  # born 3 July


def test_fractional_dob_and_age_bounds(outcomes):
    assert outcomes["imdb_crop/01/nm0000001_rm3343756032_1899-5-10_1970.jpg"].labels["age"] == 71
    assert outcomes["imdb_crop/06/nm0000006_rm1000000006_2000-1-15_2000.jpg"].labels["age"] == 0
    assert outcomes["imdb_crop/20/nm0000020_rm1000000020_1900-3-1_2000.jpg"].labels["age"] == 100


def test_nan_gender_drops_only_the_gender_key(outcomes):
    record = outcomes["imdb_crop/32/nm0000032_rm1346607872_1934-7-1_1990.jpg"]
    assert record.labels == {"age": 55} and record.texts[0].text == "imdb age: 55;"
    assert text_of(outcomes, "wiki_crop/76/10006076_1930-05-23_1961.jpg") == "wiki age: 31;"


def test_face_score_minus_inf_or_nan_is_no_face(outcomes):
    for sid, value in (("imdb_crop/02/nm0000002_rm221957120_1960-1-1_1990.jpg", "-inf"),
                       ("imdb_crop/03/nm0000003_rm1413945600_1961-3-3_1991.jpg", "nan"),
                       ("wiki_crop/27/10006727_1966-06-06_1996.jpg", "-inf")):
        out = outcomes[sid]
        assert isinstance(out, Filtered) and out.reason == "no face" and f"face_score {value}" in out.detail


def test_second_face_is_several_faces(outcomes):
    out = outcomes["wiki_crop/89/10003689_1971-01-01_2000.jpg"]
    assert isinstance(out, Filtered) and out.reason == "several faces" and "2.5" in out.detail
    assert outcomes["imdb_crop/04/nm0000004_rm2551250688_1962-4-4_1992.jpg"].reason == "several faces"


def test_implausible_ages(outcomes):
    for sid in ("imdb_crop/09/nm0000009_rm1000000009_1850-1-1_1980.jpg",  # 130 years old
                "imdb_crop/10/nm0000010_rm1000000010_0-0-0_1990.jpg",  # dob 100: below 367, no date
                "imdb_crop/11/nm0000011_rm1000000011_1995-1-1_1990.jpg"):  # born after the photo
        out = outcomes[sid]
        assert isinstance(out, Filtered) and out.reason == "implausible age", out


def test_empty_names_are_fine(outcomes):
    assert isinstance(outcomes["imdb_crop/14/nm0000014_rm2219180800_1950-6-30_1990.jpg"], FaceRecord)
    assert text_of(outcomes, "wiki_crop/68/10000868_1925-04-04_1964.jpg") == "wiki age: 39; gender: male;"


def test_bad_rows_are_rejected_with_file_and_row(outcomes):
    empty = outcomes["imdb_crop/imdb.mat row 14"]
    assert empty.reason == "malformed line" and "empty full_path" in empty.detail
    assert "dob nan" in outcomes["imdb_crop/13/nm0000013_rm1000000013_nan_2003.jpg"].detail
    repeat = outcomes["wiki_crop/17/10000217_1981-05-05_2009.jpg (row 7)"]
    assert repeat.reason == "malformed line" and "repeats row 1" in repeat.detail
    gender = outcomes["imdb_crop/12/nm0000012_rm1000000012_1971-3-3_2001.jpg"]
    assert gender.reason == "unknown label" and "imdb_crop/imdb.mat row 13: gender 0.5" in gender.detail
    assert outcomes[f"imdb_crop/{fake.MISSING_IMAGE}"].reason == "image missing"


def test_prefix_is_the_subset_and_split_is_the_person_hash(outcomes):
    records = [o for o in outcomes.values() if isinstance(o, FaceRecord)]
    for record in records:
        subset = record.source_id.split("_crop/")[0]
        assert record.texts[0].text.startswith(f"{subset} age: ")
        person = record.source_id.rsplit("/", 1)[-1].split("_")[0]
        assert record.split == stable_split(person)
    assert {r.split for r in records if "nm0000001_" in r.source_id} == {stable_split("nm0000001")}


def test_fake_mat_has_the_real_nested_shapes(tmp_path):
    fake.make(tmp_path / "imdb_wiki")
    s = scipy.io.loadmat(tmp_path / "imdb_wiki" / "imdb_crop" / "imdb.mat")["imdb"][0, 0]
    assert s.dtype.names[:8] == ("dob", "photo_taken", "full_path", "gender", "name", "face_location",
                                 "face_score", "second_face_score")
    n = len(fake.IMDB)
    assert s["dob"].shape == (1, n) and s["full_path"].shape == (1, n) and s["gender"].shape == (1, n)
    assert s["full_path"][0, 0].shape == (1,) and s["full_path"][0, 0][0] == fake.IMDB[0][0]
    assert s["name"][0, 4].size == 0 and s["face_location"][0, 0].shape == (1, 4)
    assert np.isneginf(s["face_score"][0, 5]) and np.isnan(s["gender"][0, 3])


def test_fields_are_read_by_name_not_position(tmp_path):
    fields = fake.struct(fake.WIKI[:2], "wiki")
    shuffled = {k: fields[k] for k in reversed(list(fields))}
    (tmp_path / "imdb_wiki" / "wiki_crop").mkdir(parents=True)
    scipy.io.savemat(tmp_path / "imdb_wiki" / "wiki_crop" / "wiki.mat", {"wiki": shuffled})
    out = convert("imdb_wiki", tmp_path)
    assert [o.reason for o in out] == ["image missing", "image missing"]  # parsed fine, no images written


def test_a_missing_field_names_the_file_and_field(tmp_path):
    fields = fake.struct(fake.WIKI, "wiki")
    del fields["second_face_score"]
    (tmp_path / "imdb_wiki" / "wiki_crop").mkdir(parents=True)
    scipy.io.savemat(tmp_path / "imdb_wiki" / "wiki_crop" / "wiki.mat", {"wiki": fields})
    with pytest.raises(ConverterError, match=r"wiki_crop/wiki.mat.*second_face_score"):
        convert("imdb_wiki", tmp_path)


def test_birth_dates_match_date_fromordinal():
    rng = np.random.default_rng(0)
    dob = np.concatenate([rng.uniform(367, 800_000, 2000), [367.0, 366.9, 100.0, 719529.0, 3652059.0 + 366, np.nan]])
    year, month, valid = birth_year_month(dob)
    for d, y, m, ok in zip(dob.tolist(), year.tolist(), month.tolist(), valid.tolist()):
        if d != d or int(d) - 366 < 1:
            assert not ok
            continue
        birth = datetime.date.fromordinal(int(d) - 366)
        assert ok and (y, m) == (birth.year, birth.month), d


def test_large_struct_is_vectorised(tmp_path):
    """20k rows convert well under a second of per-row work (the benchmark covers 500k)."""
    import time

    n = 20_000
    rows = [(f"{i % 100:02d}/nm{i // 4:07d}_rm{i}_1970-1-1_2000.jpg", fake.datenum(1970, 1 + i % 12, 1), 2000,
             float(i % 2), 2.0, fake.NAN, "") for i in range(n)]
    root = DatasetRoot(str(tmp_path), "imdb_wiki")
    fields = fake.struct(rows, "wiki")
    struct = np.empty(1, dtype=[(k, object) for k in fields])[0]
    for k, v in fields.items():
        struct[k] = v
    start = time.perf_counter()
    out = list(ImdbWiki().convert_struct(root, "wiki", "wiki_crop/wiki.mat", "wiki_crop", struct))
    assert len(out) == n and time.perf_counter() - start < 5
