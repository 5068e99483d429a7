"""`beam_runner` refuses unsafe folders before any pipeline work: one line on stderr, exit status 2.

An output (or token cache) inside the input root or a dataset folder, an input root or dataset
path that is a file, and two datasets reading one folder. `run_build` is replaced by a function
that fails the test, so a missing check shows as "pipeline started", never as a slow build.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import fsspec
import pytest

import beam_runner

TOKENIZER = ["--vqgan-preset", "tiny-random"]


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[list[str]], str]]:
    """Run `beam_runner.main(argv)`; assert it exits 2 with one stderr line before the pipeline; return that line.

    `main` points the root logger at this test's captured stderr (setup_logging); restored afterwards.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("pipeline started")

    monkeypatch.setattr(beam_runner, "run_build", no_build)

    def run(argv: list[str]) -> str:
        with pytest.raises(SystemExit) as exit_info:
            beam_runner.main([*argv, *TOKENIZER])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and ": error: " in err[0], err
        assert "Traceback" not in err[0]
        return err[0]

    yield run
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for key in ("celeba", "fairface"):
        (tmp_path / "raw" / key).mkdir(parents=True)
    return tmp_path / "raw"


@pytest.mark.parametrize("where", ["out", "celeba/out", "", "fairface"])
def test_output_inside_the_input_root_is_refused(refused: Callable[[list[str]], str], root: Path, where: str) -> None:
    out = root / where if where else root
    line = refused(["--input-root", str(root), "--output", str(out)])
    assert f"--output {out}" in line and "is inside" in line and "read its own outputs" in line
    assert not (root / "out").exists() and not (root / "celeba" / "out").exists()
    assert sorted(os.listdir(root)) == ["celeba", "fairface"] and os.listdir(root / "fairface") == []


def test_output_inside_a_dataset_folder_given_with_dataset_is_refused(
    refused: Callable[[list[str]], str], tmp_path: Path
) -> None:
    celeba = tmp_path / "CelebA"
    celeba.mkdir()
    line = refused(["--dataset", f"celeba={celeba}", "--output", str(celeba / "corpus")])
    assert "dataset celeba's folder" in line and str(celeba) in line
    assert os.listdir(celeba) == []


def test_output_through_a_link_into_the_root_and_the_token_cache_are_refused(
    refused: Callable[[list[str]], str], root: Path, tmp_path: Path
) -> None:
    (tmp_path / "link").symlink_to(root)
    assert "the input root" in refused(["--input-root", str(root), "--output", str(tmp_path / "link" / "out")])
    line = refused(["--input-root", str(root), "--output", str(tmp_path / "out"), "--token-cache", str(root / "cache")])
    assert "--token-cache" in line and not (tmp_path / "out").exists() and not (root / "cache").exists()


def test_output_inside_a_remote_input_root_is_refused(refused: Callable[[list[str]], str]) -> None:
    fs = fsspec.filesystem("memory")
    fs.makedirs("/paths-test/raw/celeba", exist_ok=True)
    try:
        line = refused(["--input-root", "memory://paths-test/raw", "--output", "memory://paths-test/raw/out"])
        assert "memory://paths-test/raw/out" in line and not fs.exists("/paths-test/raw/out")
    finally:
        fs.rm("/paths-test", recursive=True)


def test_a_sibling_output_with_a_common_name_prefix_is_accepted(root: Path) -> None:
    config, _ = beam_runner.parse_args(["--input-root", str(root), "--output", f"{root}-out", *TOKENIZER])
    assert config.output == f"{root}-out"
    config, _ = beam_runner.parse_args(["--input-root", str(root), "--output", "memory://raw/out", *TOKENIZER])
    assert config.output == "memory://raw/out"  # another filesystem, same path


def test_an_input_root_or_dataset_path_that_is_a_file_is_refused(
    refused: Callable[[list[str]], str], tmp_path: Path
) -> None:
    (tmp_path / "raw.tar").write_bytes(b"not a folder")
    line = refused(["--input-root", str(tmp_path / "raw.tar"), "--output", str(tmp_path / "out")])
    assert f"--input-root {tmp_path / 'raw.tar'} is a file, not a folder" in line
    line = refused(["--dataset", f"celeba={tmp_path / 'raw.tar'}", "--output", str(tmp_path / "out")])
    assert f"--dataset celeba={tmp_path / 'raw.tar'} is a file, not a folder" in line
    assert not (tmp_path / "out").exists()


def test_two_datasets_in_one_folder_are_refused(refused: Callable[[list[str]], str], root: Path, tmp_path: Path) -> None:
    shared = tmp_path / "faces"
    shared.mkdir()
    line = refused(["--dataset", f"celeba={shared}", "--dataset", f"fairface={shared}/", "--output", str(tmp_path / "o")])
    assert "datasets celeba and fairface would read the same folder" in line and str(shared) in line
    line = refused(["--input-root", str(root), "--dataset", f"celeba={root / 'fairface'}", "--output", str(tmp_path / "o")])
    assert "celeba and fairface" in line and "fairface from ROOT/fairface" in line
    assert not (tmp_path / "o").exists()
