"""The converter test kit: a declarative base test over fake data in the dataset's native format.

A converter's test states what its fake data must give, and the base class checks the rest::

    class TestCelebA(ConverterTest):
        KEY = "celeba"
        SPLITS = {"train": 4, "val": 2, "test": 2}
        REJECTED = {"malformed line": 1, "unknown label": 1, "image missing": 1, "no split": 1}

For free: the converter is registered; written records per split, filtered and rejected counts
by reason match; no source id is in two splits or repeated; two runs give identical outcomes;
every record is valid against `schemas` and its image exists; every attribute text round-trips
through the parser; every reject and filter names its file and reason. ``PERSON_IDS`` names the
person id some records must carry (source id -> person id, ``""`` for none) and
``PERSON_DISJOINT = True`` says every record of one person is in one split. Set ``VARIANT`` for a
layout variant of the fake generator and ``ALSO`` for datasets whose folders must exist beside it
(shared images).

The fake data comes from the generator the converter declares (`Converter.fake`), so the kit works
the same from any package: a plug-in's own test module needs only this import and its class, and
no configuration of this project (the fixtures are class methods, pytest's current style).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import fsspec
import pytest

import converters
from converters.base import DatasetRoot, Outcome
from schemas import FaceRecord, Filtered, Reject, format_attributes, parse_attributes


def convert(key: str, input_root: Path | str, **options: object) -> list[Outcome]:
    """Every outcome of converting ``input_root/<key>`` (siblings are the other folders there)."""
    base = str(input_root).rstrip("/")
    fs, path = fsspec.core.url_to_fs(base)
    siblings = {p.rstrip("/").rsplit("/", 1)[-1]: (p if "://" not in base else fs.unstrip_protocol(p))
                for p in fs.ls(path, detail=False) if fs.isdir(p)}
    root = DatasetRoot(f"{base}/{key}", key, siblings)
    return list(converters.get(key, **options).records(root))


class ConverterTest:
    """Base class for a converter's declarative test (pytest collects the ``Test*`` subclasses)."""

    KEY: ClassVar[str]
    SPLITS: ClassVar[Mapping[str, int]]
    FILTERED: ClassVar[Mapping[str, int]] = {}
    REJECTED: ClassVar[Mapping[str, int]] = {}
    VARIANT: ClassVar[str | None] = None
    ALSO: ClassVar[tuple[str, ...]] = ()
    OPTIONS: ClassVar[Mapping[str, object]] = {}
    PERSON_IDS: ClassVar[Mapping[str, str]] = {}
    PERSON_DISJOINT: ClassVar[bool] = False

    @pytest.fixture(scope="class")
    @classmethod
    def input_root(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        """The fakes of `KEY` (its `VARIANT`) and of the `ALSO` datasets, each in its folder under one root."""
        root = tmp_path_factory.mktemp(f"{cls.KEY}-{cls.VARIANT or 'default'}")
        for other in cls.ALSO:
            converters.fake_maker(other)(root / other)
        make = converters.fake_maker(cls.KEY)
        make(root / cls.KEY) if cls.VARIANT is None else make(root / cls.KEY, variant=cls.VARIANT)
        return root

    @pytest.fixture(scope="class")
    @classmethod
    def outcomes(cls, input_root: Path) -> list[Outcome]:
        return convert(cls.KEY, input_root, **cls.OPTIONS)

    @staticmethod
    def records(outcomes: list[Outcome]) -> list[FaceRecord]:
        return [o for o in outcomes if isinstance(o, FaceRecord)]

    def test_registered(self) -> None:
        assert self.KEY in converters.available()
        converter = converters.get(self.KEY, **self.OPTIONS)
        assert converter.key == self.KEY and converter.text_kind in ("attributes", "caption")

    def test_counts_per_split(self, outcomes: list[Outcome]) -> None:
        counts = collections.Counter(r.split for r in self.records(outcomes))
        assert dict(counts) == {s: n for s, n in self.SPLITS.items() if n}

    def test_filtered_by_reason(self, outcomes: list[Outcome]) -> None:
        counts = collections.Counter(o.reason for o in outcomes if isinstance(o, Filtered))
        assert dict(counts) == dict(self.FILTERED)

    def test_rejected_by_reason(self, outcomes: list[Outcome]) -> None:
        counts = collections.Counter(o.reason for o in outcomes if isinstance(o, Reject))
        assert dict(counts) == dict(self.REJECTED)

    def test_reasons_name_the_source(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            if isinstance(o, Filtered | Reject):
                assert o.dataset == self.KEY and o.source_id and o.source_path.startswith(self.KEY) and o.reason

    def test_source_ids_unique_and_in_one_split(self, outcomes: list[Outcome]) -> None:
        ids = [o.source_id for o in outcomes]
        assert len(ids) == len(set(ids)), [i for i, n in collections.Counter(ids).items() if n > 1]

    def test_stable_across_runs(self, input_root: Path, outcomes: list[Outcome]) -> None:
        assert convert(self.KEY, input_root, **self.OPTIONS) == outcomes

    def test_records_valid(self, outcomes: list[Outcome]) -> None:
        for record in self.records(outcomes):
            assert record.dataset == self.KEY
            record.validate()
            assert all(t.kind == converters.get(self.KEY, **self.OPTIONS).text_kind for t in record.texts)

    def test_images_exist(self, outcomes: list[Outcome]) -> None:
        for record in self.records(outcomes):
            fs, path = fsspec.core.url_to_fs(record.image)
            assert fs.isfile(path), record.image

    def test_attribute_texts_round_trip(self, outcomes: list[Outcome]) -> None:
        for record in self.records(outcomes):
            for text in record.texts:
                if text.kind == "attributes":
                    prefix, labels = parse_attributes(text.text)
                    assert format_attributes(prefix, labels) == text.text
                    assert labels == dict(record.labels) or set(labels) <= set(record.labels)

    def test_person_ids(self, outcomes: list[Outcome]) -> None:
        by_id = {r.source_id: r.person_id for r in self.records(outcomes)}
        assert {sid: by_id.get(sid) for sid in self.PERSON_IDS} == dict(self.PERSON_IDS)

    def test_persons_in_one_split(self, outcomes: list[Outcome]) -> None:
        if not self.PERSON_DISJOINT:
            return
        splits: dict[str, set[str]] = collections.defaultdict(set)
        for record in self.records(outcomes):
            assert record.person_id, f"{record.source_id} has no person id"
            splits[record.person_id].add(record.split)
        assert {p: s for p, s in splits.items() if len(s) > 1} == {}
        assert len(splits) < len(self.records(outcomes)), "the fake data must hold a person with several records"
