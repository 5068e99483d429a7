"""model.tokenizers.faces: every image mode to upright RGB, the face crop of LABELS.md, and every bad file as a reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from model.tokenizers.faces import (
    FACE_SIZE,
    FaceError,
    decode_face,
    encode_jpeg,
    face_region,
    load_face,
    to_rgb,
)
from schemas import Box, Reasons


def encoded(img: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def halves(width: int = 64, height: int = 64) -> Image.Image:
    """Left half red, right half blue: orientation and crops are easy to see."""
    a = np.zeros((height, width, 3), np.uint8)
    a[:, : width // 2] = (255, 0, 0)
    a[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(a)


def reason_of(data: bytes, **kwargs: object) -> str:
    with pytest.raises(FaceError) as info:
        decode_face(data, **kwargs)
    return info.value.reason


# --------------------------------------------------------------------------- modes


def test_rgb_face_is_256_square_uint8():
    face = decode_face(encoded(halves(80, 60)))
    assert face.shape == (FACE_SIZE, FACE_SIZE, 3) and face.dtype == np.uint8
    assert face[128, 10].tolist() == [255, 0, 0] and face[128, 245].tolist() == [0, 0, 255]


def test_grayscale_becomes_grey_rgb():
    face = decode_face(encoded(Image.new("L", (40, 40), 77)))
    assert (face == 77).all()


def test_sixteen_bit_grey_is_scaled_not_clipped():
    img = Image.fromarray(np.full((40, 40), 32896, dtype=np.uint16))  # mode I;16, half of 65535
    assert img.mode == "I;16"
    face = decode_face(encoded(img))
    assert (face == 128).all()  # 32896 * 255 / 65535 = 128; Pillow's convert("L") would clip to 255


def test_sixteen_bit_png_round_trip_mode_i():
    img = Image.fromarray(np.full((32, 32), 65535, dtype=np.int32), mode="I")
    assert (np.asarray(to_rgb(img)) == 255).all()


def test_cmyk_jpeg_becomes_rgb():
    face = decode_face(encoded(Image.new("CMYK", (48, 48), (0, 255, 255, 0)), "JPEG", quality=95))
    r, g, b = face[128, 128].tolist()
    assert r > 200 and g < 60 and b < 60  # cyan 0, magenta and yellow full: red


def test_palette_image_goes_through_its_palette():
    img = halves().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    face = decode_face(encoded(img))
    assert face[128, 10].tolist() == [255, 0, 0] and face[128, 245].tolist() == [0, 0, 255]


def test_alpha_is_composited_on_white():
    a = np.zeros((40, 40, 4), np.uint8)
    a[..., 0] = 255  # red ...
    a[:, 20:, 3] = 255  # ... opaque on the right, fully transparent on the left
    face = decode_face(encoded(Image.fromarray(a, "RGBA")))
    assert face[128, 10].tolist() == [255, 255, 255] and face[128, 245].tolist() == [255, 0, 0]


def test_grey_with_alpha_and_palette_transparency():
    la = Image.new("LA", (32, 32), (0, 0))  # black, fully transparent
    assert (decode_face(encoded(la)) == 255).all()
    p = Image.new("P", (32, 32), 0)
    p.putpalette([0, 0, 0] * 256)
    p.info["transparency"] = 0
    assert (decode_face(encoded(p, transparency=0)) == 255).all()


def test_exif_orientation_6_is_rotated_upright():
    # stored landscape, red left / blue right; Orientation 6 = "rotate 90 CW to display"
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encoded(halves(64, 32), "JPEG", quality=95, exif=exif.tobytes())
    face = decode_face(data)
    # after a clockwise turn the stored left (red) is on top and the stored right (blue) at the bottom
    top, bottom = face[5, 128], face[250, 128]
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_exif_box_refers_to_the_upright_picture():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encoded(halves(64, 32), "JPEG", quality=95, exif=exif.tobytes())  # upright: 32 wide, 64 high
    face = decode_face(data, Box(0, 0, 32, 24), margin=0.0)  # the top of the upright picture: red
    assert face[:, :, 0].mean() > 200 and face[:, :, 2].mean() < 60


# --------------------------------------------------------------------------- crops


def test_face_region_grows_by_a_quarter_and_clips():
    assert face_region(Box(40, 40, 60, 60), (100, 100)) == (35, 35, 65, 65)
    assert face_region(Box(0, 0, 20, 40), (100, 100)) == (0, 12, 25, 37)  # clipped to 25x50, centred 25x25
    assert face_region(None, (80, 60)) == (10, 0, 70, 60)  # centred square of the whole image


def test_box_crop_cuts_the_face():
    a = np.zeros((100, 100, 3), np.uint8)
    a[40:60, 40:60] = 255  # a white "face" in a black picture
    face = decode_face(encoded(Image.fromarray(a)), Box(40, 40, 60, 60))
    assert face[128, 128].tolist() == [255, 255, 255] and face[2, 2].tolist() == [0, 0, 0]


@pytest.mark.parametrize("box", [Box(10, 10, 10, 30), Box(30, 30, 20, 40), Box(200, 200, 240, 240),
                                 Box(-50, -50, -10, -10), Box(float("nan"), 0, 10, 10)])
def test_bad_boxes(box):
    assert reason_of(encoded(halves(64, 64)), box=box) == Reasons.BAD_BOX


def test_box_partly_outside_is_clipped_not_rejected():
    face = decode_face(encoded(halves(64, 64)), Box(-10, -10, 30, 30))
    assert face.shape == (256, 256, 3)


def test_big_jpeg_uses_draft_and_keeps_the_box():
    a = np.zeros((1600, 2000, 3), np.uint8)
    a[400:800, 1200:1600] = (0, 200, 0)  # a green square face in a black 2000x1600 picture
    data = encoded(Image.fromarray(a), "JPEG", quality=95)
    face = decode_face(data, Box(1200, 400, 1600, 800), margin=0.0)
    assert face[20:236, 20:236, 1].min() > 150 and face[20:236, 20:236, 0].max() < 60
    whole = decode_face(data)  # no box: the centred 1600x1600 square, decoded at 1/4 scale
    assert whole.shape == (256, 256, 3)
    box = np.s_[int(400 / 1600 * 256) + 4 : int(800 / 1600 * 256) - 4, int(1000 / 1600 * 256) + 4 : int(1400 / 1600 * 256) - 4]
    assert whole[box][..., 1].min() > 150


# --------------------------------------------------------------------------- bad files


def test_zero_byte_file():
    assert reason_of(b"") == Reasons.IMAGE_UNREADABLE


def test_not_an_image():
    assert reason_of(b"name,age\nalice,30\n") == Reasons.IMAGE_UNREADABLE


def test_corrupt_jpeg():
    data = bytearray(encoded(halves(), "JPEG"))
    data[20:400] = b"\x00" * 380  # header tables wiped
    assert reason_of(bytes(data)) == Reasons.IMAGE_UNREADABLE


def test_truncated_jpeg():
    data = encoded(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), "JPEG")
    assert reason_of(data[: len(data) // 2]) == Reasons.IMAGE_UNREADABLE


def test_truncated_png():
    data = encoded(Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    assert reason_of(data[: len(data) // 2]) == Reasons.IMAGE_UNREADABLE


def test_too_small():
    assert reason_of(encoded(Image.new("RGB", (15, 40)))) == Reasons.IMAGE_TOO_SMALL


def test_tiny_face_region_is_too_small():
    assert reason_of(encoded(halves(64, 64)), box=Box(10, 10, 14, 14)) == Reasons.IMAGE_TOO_SMALL


def test_decompression_bomb_limit_is_a_parameter():
    data = encoded(halves(200, 100))
    assert reason_of(data, max_pixels=19_999) == Reasons.IMAGE_TOO_LARGE
    assert decode_face(data, max_pixels=20_000).shape == (256, 256, 3)


def test_missing_file(tmp_path):
    with pytest.raises(FaceError) as info:
        load_face(str(tmp_path / "nope.jpg"))
    assert info.value.reason == Reasons.IMAGE_MISSING and "nope.jpg" in info.value.detail


def test_directory_is_unreadable(tmp_path):
    with pytest.raises(FaceError) as info:
        load_face(str(tmp_path))
    assert info.value.reason == Reasons.IMAGE_UNREADABLE


def test_load_face_reads_any_fsspec_url():
    import fsspec

    with fsspec.open("memory://faces/a.png", "wb") as f:
        f.write(encoded(halves()))
    assert load_face("memory://faces/a.png").shape == (256, 256, 3)


# --------------------------------------------------------------------------- determinism


def test_same_bytes_same_pixels_and_jpeg():
    data = encoded(halves(90, 70), "JPEG", quality=90)
    a, b = decode_face(data), decode_face(data)
    assert np.array_equal(a, b)
    assert encode_jpeg(a) == encode_jpeg(b)
    assert Image.open(io.BytesIO(encode_jpeg(a))).size == (256, 256)
