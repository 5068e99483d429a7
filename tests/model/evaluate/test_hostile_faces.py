"""`talk2face evaluate` with hostile stored faces: a clear error naming the shard and sample, never a traceback.

The shards' jpg members are replaced (with `write_tar`, the pipeline's writer) by a decompression
bomb (a JPEG header claiming 60000x60000, or 5000x5000), a truncated JPEG, bytes that are no image, a CMYK JPEG
and 16-bit PNG bytes. The unusable ones stop synthesis before any face is generated; the
convertible ones are decoded as `decode_face` decodes any input (RGB, 256x256).
"""

from __future__ import annotations

import dataclasses
import io
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from eval_fixtures import TinyNet
from PIL import Image

from model.evaluate.benchmarks import ShardFaceError, real_faces
from model.evaluate.cli import main
from schemas.sample import ShardSample
from schemas.shard import write_tar

pytestmark = pytest.mark.usefixtures("one_thread")


def _jpeg(mode: str = "RGB", side: int = 256) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.indices((side, side)).sum(0) % 256).astype(np.uint8)).convert(mode).save(buf, format="JPEG")
    return buf.getvalue()


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose SOF0 header claims width x height (a bomb's header, without the pixels)."""
    data = bytearray(_jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _png16(side: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((side, side), 65535, dtype=np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


BAD: dict[str, tuple[Callable[[], bytes], str]] = {
    "bomb": (lambda: _jpeg_claiming(60_000, 60_000), "image too large"),  # over Pillow's own limit
    "bomb under Pillow's limit": (lambda: _jpeg_claiming(5_000, 5_000), "image too large"),  # over ours
    "truncated": (lambda: _jpeg()[:400], "unreadable image"),
    "not an image": (lambda: b"these are my notes, not a picture", "not an image"),
}




@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Test shards of captioned fake faces, a tiny untrained checkpoint, a TorchScript stand-in Inception."""
    from model.checkpoint import save_checkpoint
    from model.testing import write_fake_shards
    from model.transformer import Talk2Face, Talk2FaceConfig

    root = tmp_path_factory.mktemp("hostile-eval")
    write_fake_shards(root / "shards", n_faces=6, per_shard=3, split="test", seed=3)
    torch.manual_seed(0)
    model = Talk2Face(Talk2FaceConfig.tiny())
    save_checkpoint(root / "ckpt.pt", {"model": model.state_dict(), "model_config": dataclasses.asdict(model.config)})
    torch.jit.script(TinyNet().eval()).save(str(root / "inception.pt"))
    return root / "shards", root / "ckpt.pt", root / "inception.pt"


def _with_jpgs(shards: Path, tmp_path: Path, jpgs: list[bytes]) -> tuple[Path, list[str]]:
    """A copy of the shards whose samples carry `jpgs` in order (the rest a good JPEG); returns it and the keys.

    Captions become mm_celeba_hq's, the dataset synthesis (and table5's FID column) reads by default.
    """
    from model.train.shards import read_shard

    out, keys, i = tmp_path / "shards", [], 0
    out.mkdir()
    for shard in sorted(shards.glob("test-*.tar")):
        samples = []
        for s in read_shard(str(shard)):
            texts = tuple(dataclasses.replace(t, dataset="mm_celeba_hq") if t.kind == "caption" else t for t in s.texts)
            samples.append(dataclasses.replace(s, texts=texts, jpg=jpgs[i] if i < len(jpgs) else _jpeg()))
            keys.append(s.key)
            i += 1
        with open(out / shard.name, "wb") as f:
            write_tar(f, (s.to_wds() for s in samples))
    return out, keys


def _evaluate(capsys: pytest.CaptureFixture[str], shards: Path, ckpt: Path, inception: Path, *more: str) -> tuple[int, str]:
    try:
        status = main(["--checkpoint", str(ckpt), "--shards", str(shards), "--task", "synthesis", "--device", "cpu",
                       "--vqgan-preset", "tiny-random", "--inception", str(inception), *more])
    except SystemExit as exit_info:
        status = int(exit_info.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


@pytest.mark.parametrize("kind", sorted(BAD))
def test_an_unusable_stored_face_is_an_error_naming_shard_and_sample(
    setup: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import model.evaluate.benchmarks as benchmarks

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("generation started before the shards were checked")

    monkeypatch.setattr(benchmarks, "generate_image_codes", no_generation)
    shards, ckpt, inception = setup
    make, reason = BAD[kind]
    bad, keys = _with_jpgs(shards, tmp_path, [_jpeg(), _jpeg(), _jpeg(), _jpeg(), make()])  # 5th: 2nd shard
    status, err = _evaluate(capsys, bad, ckpt, inception, "--out", str(tmp_path / "r.json"))
    assert status == 2
    line = err.strip().splitlines()[-1]
    assert f"{bad / 'test-000001.tar'}: sample {keys[4]}: " in line and reason in line
    assert "rebuild this shard" in line and not (tmp_path / "r.json").exists()
    if kind.startswith("bomb"):
        assert "decompression bomb" in line and "--max-pixels" not in line
        assert ("3600000000 pixels" if kind == "bomb" else "5000x5000") in line


def test_table5_reports_an_unusable_stored_face_not_a_missing_column(
    setup: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards, ckpt, inception = setup
    bad, keys = _with_jpgs(shards, tmp_path, [BAD["truncated"][0]()])
    status, err = _evaluate(capsys, bad, ckpt, inception, "--task", "table5")
    assert status == 2 and f"sample {keys[0]}: unreadable image" in err


def test_cmyk_and_16_bit_stored_faces_are_converted_like_any_input() -> None:
    def sample(jpg: bytes) -> ShardSample:
        return ShardSample(key="k", split="test", tokens=np.zeros(256, np.uint16), texts=(), jpg=jpg)

    rgb, cmyk, png16 = real_faces([sample(_jpeg()), sample(_jpeg("CMYK")), sample(_png16(64))], vqgan=None)
    assert rgb.shape == cmyk.shape == png16.shape == (256, 256, 3)
    assert (png16 == 255).all()  # 16-bit white -> 8-bit white, upscaled from 64x64
    with Image.open(io.BytesIO(_jpeg())) as im:
        assert np.array_equal(rgb, np.asarray(im.convert("RGB")))  # a stored 256x256 face is read as it is
    assert np.abs(cmyk.astype(int) - rgb).mean() < 16
    with pytest.raises(ShardFaceError, match="sample k: image too large"):
        real_faces([sample(_jpeg_claiming(60_000, 60_000))], vqgan=None)


def test_evaluate_runs_on_cmyk_and_16_bit_stored_faces(
    setup: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards, ckpt, inception = setup
    good, _ = _with_jpgs(shards, tmp_path, [_jpeg("CMYK"), _png16(64)])
    status, _ = _evaluate(capsys, good, ckpt, inception, "--limit", "2", "--out", str(tmp_path / "r.json"))
    assert status == 0 and '"real_from": "jpg"' in (tmp_path / "r.json").read_text()
