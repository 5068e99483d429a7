"""`talk2face generate` with hostile user input: a clear error or the documented handling, never a traceback."""

from __future__ import annotations

import dataclasses
import io
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from model.checkpoint import save_checkpoint
from model.infer.cli import main
from model.transformer import Talk2Face, Talk2FaceConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def _png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR claims width x height (a decompression bomb's header, without the bytes)."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def _image(mode: str, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    array = (np.indices((96, 96)).sum(0) % 256).astype(np.uint16 if mode == "I;16" else np.uint8)
    image = Image.fromarray(array * 200 if mode == "I;16" else array).convert("L" if mode == "I;16" else mode)
    if mode == "I;16":
        image = Image.fromarray((array * 200).astype(np.uint16))
    image.save(buf, format=fmt, **save)
    return buf.getvalue()


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    return _image("RGB", "JPEG", exif=exif.tobytes())


def _animated() -> bytes:
    buf = io.BytesIO()
    frames = [Image.new("RGB", (96, 96), c) for c in ("red", "blue")]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


GOOD = {"cmyk.jpg": lambda: _image("CMYK", "JPEG"), "16bit.png": lambda: _image("I;16", "PNG"),
        "animated.gif": _animated, "exif.jpg": _exif_rotated}
BAD = {"bomb.png": (lambda: _png_claiming(40_000, 40_000), "too large"),
       "truncated.jpg": (lambda: _image("RGB", "JPEG")[:300], "unreadable image"),
       "notes.jpg": (lambda: b"these are my notes, not a picture", "not an image")}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = Talk2Face(Talk2FaceConfig.tiny())
    path = tmp_path_factory.mktemp("ckpt") / "ours.pt"
    save_checkpoint(path, {"model": model.state_dict(), "model_config": dataclasses.asdict(model.config)})
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main([*argv, "--vqgan-preset", "tiny-random", "--device", "cpu"])
    except SystemExit as exit:
        status = int(exit.code or 0)
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return status, out.out, out.err


def test_images_are_converted_or_refused_with_a_clear_error(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, make in GOOD.items():  # CMYK and 16-bit converted, first frame, EXIF applied
        (tmp_path / name).write_bytes(make())
        status, out, err = _run(capsys, "--checkpoint", str(checkpoint), "--to", "caption", "--image", str(tmp_path / name))
        assert status == 0 and name in out, err
    for name, (make, words) in BAD.items():
        (tmp_path / name).write_bytes(make())
        status, _, err = _run(capsys, "--checkpoint", str(checkpoint), "--to", "caption", "--image", str(tmp_path / name))
        assert status == 2 and name in err and words in err, err


class _RunsCode:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(Path(__file__).parent / "PWNED"),))


def test_foreign_checkpoints_and_long_prompts(checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"format": "talk2face-train-checkpoint", "version": 1, "model": _RunsCode()}))
    status, _, err = _run(capsys, "--checkpoint", str(evil), "--to", "image", "--text", "a man")
    assert status == 2 and "refused" in err and not (Path(__file__).parent / "PWNED").exists()
    other = tmp_path / "other.pt"
    small = Talk2Face(Talk2FaceConfig.tiny())
    config = dataclasses.asdict(dataclasses.replace(small.config, n_embd=small.config.n_embd * 2))
    save_checkpoint(other, {"model": small.state_dict(), "model_config": config})
    status, _, err = _run(capsys, "--checkpoint", str(other), "--to", "image", "--text", "a man")
    assert status == 2 and str(other) in err and "do not fit the model config" in err
    status, out, err = _run(capsys, "--checkpoint", str(checkpoint), "--to", "image", "--text", "a man " * 500,
                            "--n", "1", "--out", str(tmp_path / "pngs"))
    assert status in (0, 2) and (status == 2 or ".png" in out), err
