"""Fixtures of the inspector tests: a fresh tiny corpus per test (inspect_fixtures.build_corpus)."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_fixtures import build_corpus


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return build_corpus(tmp_path)
