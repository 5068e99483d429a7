"""Regression tests of what fuzzing found (tests/converters/test_fuzz.py): each fails without its fix."""

from __future__ import annotations

import json
import pickle
from collections import Counter
from pathlib import Path

import pytest

from converters import ConverterError
from converters.fakes import fake_face, generator, save_image, write_text
from converters.mm_celeba_hq import index_of
from converters.testing import convert
from schemas import FaceRecord, Reasons, Reject


def made(tmp_path: Path, key: str, variant: str | None = None) -> Path:
    make = generator(key).make
    make(tmp_path / key) if variant is None else make(tmp_path / key, variant=variant)
    return tmp_path / key


def reasons(outcomes: list) -> Counter:
    return Counter(getattr(o, "reason", "record") for o in outcomes)


def test_afad_listed_thumbs_db_is_not_an_image(tmp_path: Path) -> None:
    folder = tmp_path / "afad"
    write_text(folder / "AFAD-Full.txt", "./20/111/1-0.jpg\n./20/111/Thumbs.db\n./20/111/Thumbs.db\n")
    save_image(fake_face(1, (20, 20)), folder / "20" / "111" / "1-0.jpg")
    (folder / "20" / "111" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    out = convert("afad", tmp_path)
    assert [getattr(o, "reason", None) for o in out] == [None, Reasons.NOT_AN_IMAGE, Reasons.MALFORMED]
    assert isinstance(out[1], Reject) and out[1].source_id == "20/111/Thumbs.db" and "Thumbs.db" in out[1].detail


def test_afad_two_equal_bad_lines_have_two_ids(tmp_path: Path) -> None:
    folder = tmp_path / "afad"
    write_text(folder / "AFAD-Full.txt", "1.5\n1.5\n")
    ids = [o.source_id for o in convert("afad", tmp_path)]
    assert len(ids) == 2 and len(set(ids)) == 2


def test_fs2k_colour_written_as_the_string_nan_drops_that_key_only(tmp_path: Path) -> None:
    folder = made(tmp_path, "fs2k")
    entries = json.loads((folder / "anno_train.json").read_text())
    entries[0]["lip_color"] = "nan"
    entries[0]["eye_color"] = "NaN"
    (folder / "anno_train.json").write_text(json.dumps(entries))
    record = next(o for o in convert("fs2k", tmp_path) if o.source_id == entries[0]["image_name"])
    assert isinstance(record, FaceRecord)
    assert "lip color" not in record.labels and "eye color" not in record.labels and "gender" in record.labels


def test_a_unicode_line_separator_inside_a_line_does_not_split_it(tmp_path: Path) -> None:
    folder = made(tmp_path, "expw")
    lines = (folder / "label" / "label.lst").read_text().splitlines()
    lines[0] = lines[0].replace("amazed_actor", "amazed\u2028actor\x85")
    (folder / "label" / "label.lst").write_text("\n".join(lines) + "\n")
    assert len(convert("expw", tmp_path)) == len(lines)


def test_expw_nan_box_is_malformed_not_a_record(tmp_path: Path) -> None:
    folder = made(tmp_path, "expw")
    lines = (folder / "label" / "label.lst").read_text().splitlines()
    lines[0] = "amazed_actor_579.jpg 0 nan 161 354 209 38.5907 6"
    (folder / "label" / "label.lst").write_text("\n".join(lines) + "\n")
    first = convert("expw", tmp_path)[0]
    assert isinstance(first, Reject) and first.source_id == "amazed_actor_579.jpg#0" and first.reason == Reasons.MALFORMED


def test_fairface_stray_quote_and_repeated_row(tmp_path: Path) -> None:
    folder = made(tmp_path, "fairface")
    path = folder / "fairface_label_train.csv"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("50-59", '"50-59')  # an unclosed quote: csv would join every line after it
    lines.append(lines[2])
    path.write_text("\n".join(lines) + "\n")
    out = [o for o in convert("fairface", tmp_path) if "train" in o.source_id]
    assert len(out) == len(lines) - 1
    assert reasons(out)[Reasons.MALFORMED] == 2 and len({o.source_id for o in out}) == len(out)  # the quoted row, the repeat


def test_fairface_empty_csv_is_a_converter_error(tmp_path: Path) -> None:
    folder = made(tmp_path, "fairface")
    (folder / "fairface_label_val.csv").write_bytes(b"")
    with pytest.raises(ConverterError, match="header"):
        convert("fairface", tmp_path)


def test_affectnet_repeated_bad_line_has_its_own_id(tmp_path: Path) -> None:
    folder = made(tmp_path, "affectnet")
    path = folder / "Manually_Annotated_file_lists" / "training.csv"
    lines = path.read_text().splitlines()
    short = next(line for line in lines if line.startswith("7/short.jpg"))
    path.write_text("\n".join([*lines, short]) + "\n")
    ids = [o.source_id for o in convert("affectnet", tmp_path)]
    assert len(ids) == len(set(ids)) == (len(lines) - 1 + 1) + 6  # training rows and the repeat, 6 validation rows


def test_celeba_repeated_row_is_rejected(tmp_path: Path) -> None:
    folder = made(tmp_path, "celeba")
    path = folder / "Anno" / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[2]]) + "\n")
    out = convert("celeba", tmp_path)
    assert len(out) == len(lines) - 1 and len({o.source_id for o in out}) == len(out)
    assert isinstance(out[-1], Reject) and out[-1].reason == Reasons.MALFORMED and "repeats line 3" in out[-1].detail


def test_rafdb_huge_label_and_bad_line_repeated(tmp_path: Path) -> None:
    folder = made(tmp_path, "rafdb")
    path = folder / "EmoLabel" / "list_patition_label.txt"
    lines = path.read_text().splitlines()
    lines[0] = "train_00001.jpg " + "9" * 5000
    path.write_text("\n".join(lines) + "\n")
    out = convert("rafdb", tmp_path)
    assert len(out) == len(lines) and len({o.source_id for o in out}) == len(out)
    assert isinstance(out[0], Reject) and out[0].reason == Reasons.MALFORMED


def test_mm_celeba_hq_pickles_of_long_numbers_and_py3_protocol2_bytes(tmp_path: Path) -> None:
    folder = made(tmp_path, "mm_celeba_hq")
    assert index_of("0" * 3 + "9" * 5000) == "9" * 5000 and index_of("٠٣") == "3"
    train = [str(i) for i in (0, 1, 2, 3, 4, 5, 6, 11)]
    (folder / "train" / "filenames.pickle").write_bytes(pickle.dumps([n.encode() for n in train] + [b"9" * 5000], protocol=2))
    assert reasons(convert("mm_celeba_hq", tmp_path))["record"] == 9

    class Payload:
        def __reduce__(self) -> tuple:
            return (print, ("ran",))

    (folder / "test" / "filenames.pickle").write_bytes(pickle.dumps([Payload()], protocol=2))
    with pytest.raises(ConverterError, match="refused"):
        convert("mm_celeba_hq", tmp_path)
