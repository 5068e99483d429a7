"""README's separate-package converter, end to end: written from README.md itself, built as a wheel,
installed in a fresh virtual environment, then every command the README gives is run there.

The fresh environment has no pip of its own and sees this checkout and the shared environment's
packages through a ``.pth`` file, not through PYTHONPATH or the project's editable install, so the
plug-in is found the way a user's would be: by its wheel's ``talk2face.converters`` entry point. The
README's build runs on the multi-processing DirectRunner, whose worker processes stand in for remote
workers: they too must find the plug-in in the environment they start in.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # about 70 s on 2 busy cores, most of it the multi-process build

REPO = Path(__file__).resolve().parents[2]
SECTION = ("**As a separate package**", "Then, from the folder")
FILE_BLOCK = re.compile(r"^`([\w./-]+)`:\n\n```\w*\n(.*?)^```", re.S | re.M)
COMMANDS_AFTER = "Then, from the folder"
OFFLINE = {"wheel": ["--no-build-isolation"], "install": ["--no-deps", "--no-index"]}  # no registry in tests
STRICT = ["-W", "error::DeprecationWarning", "-W", "error::pytest.PytestRemovedIn10Warning",  # pytest 9: no ...In9
          "-W", "error::pytest.PytestDeprecationWarning", "-p", "no:cacheprovider"]


def readme_example() -> tuple[dict[str, str], list[str]]:
    """The separate-package example of README.md: its files by path, and its commands in order."""
    text = (REPO / "README.md").read_text()
    start, end = text.index(SECTION[0]), text.index(SECTION[1])
    files = {path: body for path, body in FILE_BLOCK.findall(text[start:end])}
    block = re.search(r"```bash\n(.*?)```", text[end:], re.S)
    assert block, "README.md: no ```bash block after the separate-package files"
    commands = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]
    return files, commands


def fresh_venv(folder: Path) -> Path:
    """A virtual environment without pip that sees this checkout, then the shared environment's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "talk2face_dev.pth").write_text(f"{REPO}\n{sysconfig.get_paths()['purelib']}\n")
    return python


def command_line(command: str, python: Path) -> list[str]:
    """A README command as argv in the fresh environment (offline pip flags; strict warnings for pytest)."""
    argv = shlex.split(command)
    assert argv[0] == "python", f"README command should start with python: {command}"
    argv[0] = str(python)
    if argv[1:3] == ["-m", "pip"]:
        argv[4:4] = OFFLINE[argv[3]]
    elif argv[1:3] == ["-m", "pytest"]:
        argv[3:3] = STRICT
    return argv


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every README command's result, run in order in a folder holding the README's package."""
    work = tmp_path_factory.mktemp("plugin")
    files, commands = readme_example()
    for path, body in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(body)
    started = time.perf_counter()
    python = fresh_venv(work / "venv")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1")
    results: dict[str, subprocess.CompletedProcess[str]] = {"venv": subprocess.CompletedProcess([], 0, "", "")}
    timings = [f"venv {time.perf_counter() - started:.1f}s"]
    for command in commands:
        t = time.perf_counter()
        done = subprocess.run(command_line(command, python), cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"README command failed: {command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        results[" ".join(shlex.split(command)[1:4])] = done
        timings.append(f"{shlex.split(command)[2]} {time.perf_counter() - t:.1f}s")
    print(f"README plug-in example: {', '.join(timings)}; total {time.perf_counter() - started:.1f}s")
    results["python"] = subprocess.CompletedProcess([str(python)], 0, str(work), "")
    return results


def test_readme_has_the_package_files_and_commands() -> None:
    files, commands = readme_example()
    assert sorted(files) == ["utkface-converter/pyproject.toml", "utkface-converter/tests/test_utkface.py",
                             "utkface-converter/utkface_converter/__init__.py",
                             "utkface-converter/utkface_converter/fake.py"]
    assert '[project.entry-points."talk2face.converters"]' in files["utkface-converter/pyproject.toml"]
    assert [c.split()[2] for c in commands] == ["pip", "pip", "converters", "converters", "converters", "pytest",
                                                "beam_runner"]


def test_the_wheel_is_built_and_installed(example: dict[str, subprocess.CompletedProcess[str]]) -> None:
    work = Path(example["python"].stdout)
    assert (work / "dist" / "utkface_converter-0.1.0-py3-none-any.whl").is_file()
    assert list((work / "venv").glob("lib/python*/site-packages/utkface_converter-0.1.0.dist-info/entry_points.txt"))


def test_list_shows_the_plugin_beside_the_built_ins(example: dict[str, subprocess.CompletedProcess[str]]) -> None:
    listed = example["-m converters list"].stdout
    keys = {line.split()[0] for line in listed.splitlines() if line and not line.startswith(" ")}
    assert {"utkface", "celeba", "afad"} <= keys
    assert "reads:  UTKFace/" in listed


def test_fake_and_preview(example: dict[str, subprocess.CompletedProcess[str]]) -> None:
    work = Path(example["python"].stdout)
    assert len(list((work / "raw" / "utkface" / "UTKFace").glob("*.jpg"))) == 10
    preview = example["-m converters preview"].stdout
    counts = json.loads(preview[preview.index("\n{") :])
    assert counts == {"written train": 6, "written val": 1, "written test": 1,
                      "rejected: malformed file name": 1, "rejected: unknown label": 1}
    assert "utkface age: 25; gender: female; race: asian;" in preview


def test_the_plugins_own_converter_test_passes(example: dict[str, subprocess.CompletedProcess[str]]) -> None:
    out = example["-m pytest utkface-converter/tests"].stdout
    assert re.search(r"\b1[0-9] passed\b", out), out  # the kit's checks ran (not 0 collected)
    assert "warning" not in out.lower(), out  # no deprecation or other warning from the kit


def test_the_build_with_worker_processes(example: dict[str, subprocess.CompletedProcess[str]]) -> None:
    work = Path(example["python"].stdout)
    stats = json.loads((work / "corpus" / "stats.json").read_text())
    utk = stats["datasets"]["utkface"]
    assert (utk["read"], utk["written"]) == (10, 8)
    assert utk["rejected"] == {"malformed file name": 1, "unknown label": 1}
    assert sorted(p.name.split("-")[0] for p in (work / "corpus" / "shards").glob("*.tar")) == ["test", "train", "val"]


def test_constrained_decoding_answers_with_the_plugins_labels(
    example: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    script = """
import json, numpy as np, torch
from model.infer.templates import AGE_VALUES, answer_questions, check_declared, label_values
from model.transformer import Talk2Face, Talk2FaceConfig
torch.manual_seed(0); torch.set_num_threads(1)
questions = ["utkface race:", "utkface gender:", "utkface age:"]
assert check_declared(questions) == []
model = Talk2Face(Talk2FaceConfig.tiny()).eval()
codes = np.random.default_rng(0).integers(0, 1024, size=(3, 256)).astype(np.uint16)
answers = answer_questions(model, codes, questions)
print(json.dumps({"values": [list(label_values("utkface", k)) for k in ("race", "gender")],
                  "age_is_integer": label_values("utkface", "age") is AGE_VALUES,
                  "answers": [a.value for a in answers]}))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([example["python"].args[0], "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    races, genders = got["values"]
    assert races == ["white", "black", "asian", "indian", "others"] and genders == ["male", "female"]
    assert got["age_is_integer"]
    race, gender, age = got["answers"]
    assert race in races and gender in genders and isinstance(age, int)
