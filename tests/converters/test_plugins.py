"""The registry with plug-ins: declared fake-data generators, and plug-ins that fail to import.

A broken plug-in is a real entry point: a ``*.dist-info`` folder with an ``entry_points.txt`` on the
path of a subprocess, as pip leaves it when the package's module is gone or raises on import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import converters
from converters.base import Converter, registry
from converters.fakes import fake_face, generator, keys, save_image

REPO = Path(__file__).resolve().parents[2]


def test_every_built_in_declares_its_fake_and_keys_come_from_the_registry() -> None:
    assert keys() == converters.available()
    for key in converters.available():
        assert registry()[key].fake == f"converters.fakes.{key}"
        assert callable(generator(key).make)


def make_toy(folder: Path, variant: str = "default") -> None:
    save_image(fake_face(1, (20, 20)), Path(folder) / f"{variant}.jpg")


@pytest.mark.parametrize("declared", [make_toy, f"{__name__}:make_toy", None, "no_such_module_xyz", "converters"])
def test_a_fake_declared_as_callable_or_module_path(declared: object, tmp_path: Path) -> None:
    class Toy(Converter):
        key, text_kind, prefix = "toy_fake", "attributes", "toy"
        fake = declared

    try:
        if declared in (make_toy, f"{__name__}:make_toy"):
            generator("toy_fake").make(tmp_path, variant="v")
            assert (tmp_path / "v.jpg").is_file()
        else:
            with pytest.raises(KeyError, match="toy_fake") as err:
                converters.fake_maker("toy_fake")
            assert "fake = " in str(err.value)  # says what to declare
    finally:
        del registry()[Toy.key]


def test_an_unknown_key_has_no_fake() -> None:
    with pytest.raises(KeyError, match="unknown dataset 'nope'.*installed where this runs"):
        generator("nope")


def test_the_registry_is_loaded_only_after_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing built-in import leaves the registry unloaded, so the next call tries again."""
    import importlib

    def failing(name: str) -> object:
        if name == "converters.rafdb":
            raise ImportError("simulated")
        return importlib.import_module(name)

    monkeypatch.setattr(converters, "_loaded", False)
    monkeypatch.setattr(converters, "importlib", SimpleNamespace(import_module=failing))
    with pytest.raises(ImportError, match="simulated"):
        converters.available()
    assert converters._loaded is False
    monkeypatch.setattr(converters, "importlib", importlib)
    assert "rafdb" in converters.available() and converters._loaded is True


@pytest.fixture(scope="module")
def broken_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose path holds two broken plug-ins: a missing module and a duplicate key."""
    site = tmp_path_factory.mktemp("site")
    info = site / "broken_plugins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[talk2face.converters]\nnosuch = nosuch_module_xyz\nsecond_celeba = second_celeba_mod\n"
    )
    (site / "second_celeba_mod.py").write_text(
        "from converters.base import Converter\n\n\nclass Again(Converter):\n"
        "    key, text_kind = 'celeba', 'attributes'\n"
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "converter plug-in" in line]


def test_list_warns_once_per_broken_plugin_and_goes_on(broken_env: dict[str, str]) -> None:
    done = run(broken_env, "-m", "converters", "list")
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.splitlines() if line and not line.startswith(" ")}
    assert {"celeba", "afad", "rafdb"} <= listed and "nosuch" not in listed
    warned = warnings_in(done.stderr)
    assert len(warned) == 2 and "Traceback" not in done.stderr
    assert "'nosuch' (entry point nosuch = 'nosuch_module_xyz'" in warned[0] and "ModuleNotFoundError" in warned[0]
    assert "'second_celeba'" in warned[1] and "already registered" in warned[1]


def test_a_build_that_does_not_ask_for_it_goes_on(broken_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "raw" / "afad").mkdir(parents=True)  # the output must not be inside the input root
    argv = ["--input-root", str(tmp_path / "raw"), "--output", str(tmp_path / "out"), "--vqgan-preset", "tiny-random"]
    script = f"import beam_runner; config, _ = beam_runner.parse_args({argv!r}); print([d.key for d in config.datasets])"
    done = run(broken_env, "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "['afad']"
    assert len(warnings_in(done.stderr)) == 2


def test_a_build_that_asks_for_it_fails_with_one_line(broken_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "raw" / "nosuch").mkdir(parents=True)
    done = run(broken_env, "beam_runner.py", "--input-root", str(tmp_path / "raw"), "--output", str(tmp_path / "out"),
               "--vqgan-preset", "tiny-random", "--datasets", "nosuch")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("beam_runner.py: error: converter plug-in 'nosuch' (entry point nosuch = 'nosuch_module_xyz'")
    preview = run(broken_env, "-m", "converters", "preview", "nosuch", str(tmp_path / "raw" / "nosuch"))
    assert preview.returncode == 2 and preview.stderr.strip().splitlines()[-1].startswith("error: converter plug-in 'nosuch'")
