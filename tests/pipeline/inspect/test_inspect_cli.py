"""The `talk2face` dispatcher and `talk2face inspect` on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_fixtures import (
    run,
)

from pipeline import cli


def test_missing_corpus_or_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, str(tmp_path / "nowhere"))
    assert status == 2 and "no such folder" in err
    (tmp_path / "empty").mkdir()
    status, _, err = run(capsys, str(tmp_path / "empty"), "--show", "3")
    assert status == 2 and "no manifest/*.parquet" in err
    status, out, _ = run(capsys, str(tmp_path / "empty"), "--validate")
    assert status == 1 and "[shards]" in out and "[manifest]" in out
    (tmp_path / "empty" / "manifest").mkdir()
    (tmp_path / "empty" / "manifest" / "train-000000.parquet").write_bytes(b"not parquet")
    status, _, err = run(capsys, str(tmp_path / "empty"))
    assert status == 2 and "train-000000.parquet: not a manifest" in err and "Traceback" not in err


def test_damaged_shard_in_summary_is_reported(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus / "shards" / "val-000000.tar"
    path.write_bytes(path.read_bytes()[:700])
    status, out, err = run(capsys, str(corpus))
    assert status == 0 and "damaged shard skipped: val-000000.tar" in out and "Traceback" not in err


def test_cli_dispatch(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert cli.main(["--help"]) == 0 and "inspect OUT" in capsys.readouterr().out
    assert cli.main(["frobnicate"]) == 2 and "unknown command" in capsys.readouterr().err
    assert set(cli.COMMANDS) == {"build", "inspect", "train", "generate", "evaluate"}


NO_BEAM = """
import sys
from pipeline import cli
status = cli.main(sys.argv[1:])
heavy = sorted(m for m in ("apache_beam", "torch") if m in sys.modules)
print("LOADED", heavy, file=sys.stderr)
sys.exit(status if not heavy else 99)
"""


@pytest.mark.parametrize("mode", [[], ["--validate"]])
def test_inspect_never_loads_beam(corpus: Path, mode: list[str]) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", NO_BEAM, "inspect", str(corpus), "--max-shards", "1", *mode],
                          capture_output=True, text=True, env=env, cwd=root, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stderr
