"""Face preprocessing: any image file -> the upright 256x256 RGB face the VQGAN tokenizer expects.

The corpus pipeline and inference on user images both call `load_face` (or `decode_face` on bytes
already read), so a face is cut the same way wherever it is tokenised:

1. **read** the file with fsspec (local path, ``gs://``, ``s3://``, ``memory://``);
2. **decode** with Pillow; for a JPEG much larger than needed, decode at 1/2, 1/4 or 1/8 scale
   (``draft``) and scale the face region to match;
3. **orient** by the EXIF Orientation tag (``ImageOps.exif_transpose``): a face box refers to the
   upright picture, as image viewers and OpenCV's ``imread`` show it;
4. **convert** any mode to RGB: 16-bit grey (``I;16*``, ``I``) is scaled to 8 bits (x * 255 / 65535)
   rather than clipped; CMYK by Pillow's conversion (no ICC profile); palette images through their
   palette; an alpha channel (RGBA, LA, PA, palette transparency) is composited on **white**, so a
   cut-out face sits on a plain light background and an opaque alpha channel changes nothing;
5. **crop** to the face box grown by 25% of its width and height on each side and clipped to the
   image (LABELS.md), or to the whole image when there is no box;
6. **square** the region by a centred crop of its shorter side, and **resize** to 256x256 with
   Lanczos (``reducing_gap`` 3: a box reduction first for big downscales).

Every way a file can be unusable raises `FaceError` with a reason from `schemas.Reasons` (``image
missing``, ``unreadable image``, ``image too small``, ``image too large``, ``bad face box``), which the
pipeline turns into a reject record. Other I/O errors (a network failure on an object store) are
raised as they are, so that the runner retries the work instead of rejecting a good image.
Output depends only on the file's bytes and the box, so the content hash of the result
(`schemas.sample_key`) identifies a face across datasets.
"""

from __future__ import annotations

import io
import math
from typing import IO, Any

import fsspec
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from schemas import Box, Reasons

FACE_SIZE = 256
"""Side of the square faces the tokenizer takes."""
MIN_SIDE = 16
"""Images (and face regions) smaller than this on either side are rejected as too small."""
MARGIN = 0.25
"""A face box grows by this fraction of its width and height on each side (LABELS.md)."""
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
"""Default decompression-bomb limit in pixels (Pillow's, about 89.5 million)."""
JPEG_QUALITY = 95
"""Quality of `encode_jpeg` (4:4:4 chroma, so a stored face can be re-tokenised faithfully)."""

_ORIENTATION_TAG = 0x0112
_TRANSPOSED_ORIENTATIONS = (5, 6, 7, 8)  # orientations that swap width and height
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, MemoryError)


class FaceError(ValueError):
    """A face that cannot be loaded: `reason` is one of `schemas.Reasons`, `detail` says what was wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------- entry points


def load_face(
    url: str,
    box: Box | None = None,
    *,
    size: int = FACE_SIZE,
    max_pixels: int = MAX_PIXELS,
    margin: float = MARGIN,
) -> np.ndarray:
    """The preprocessed face of an image file: uint8 RGB (size, size, 3); raises FaceError."""
    return decode_face(read_image(url), box, size=size, max_pixels=max_pixels, margin=margin, name=url)


def read_image(url: str) -> bytes:
    """The bytes of an image file at any fsspec URL; a missing file raises FaceError(image missing)."""
    try:
        with fsspec.open(url, "rb") as f:
            return f.read()
    except FileNotFoundError as err:
        raise FaceError(Reasons.IMAGE_MISSING, f"{url} not found") from err
    except IsADirectoryError as err:
        raise FaceError(Reasons.IMAGE_UNREADABLE, f"{url} is a directory, not an image file") from err


def decode_face(
    data: bytes | IO[bytes],
    box: Box | None = None,
    *,
    size: int = FACE_SIZE,
    max_pixels: int = MAX_PIXELS,
    margin: float = MARGIN,
    name: str = "image",
) -> np.ndarray:
    """Decode, orient, convert, crop, square and resize one image (see the module docstring)."""
    if isinstance(data, bytes | bytearray | memoryview):
        if len(data) == 0:
            raise FaceError(Reasons.IMAGE_UNREADABLE, f"{name} is an empty (zero-byte) file")
        data = io.BytesIO(data)
    try:
        img = Image.open(data)
    except Image.DecompressionBombError as err:
        raise FaceError(Reasons.IMAGE_TOO_LARGE, f"{name}: {err}") from err
    except UnidentifiedImageError as err:
        raise FaceError(Reasons.IMAGE_UNREADABLE, f"{name} is not an image Pillow can read") from err
    except _DECODE_ERRORS as err:
        raise FaceError(Reasons.IMAGE_UNREADABLE, f"{name}: {type(err).__name__}: {err}") from err
    with img:
        width, height = img.size
        if width * height > max_pixels:
            raise FaceError(
                Reasons.IMAGE_TOO_LARGE,
                f"{name} is {width}x{height} = {width * height} pixels, over the decompression-bomb limit of "
                f"{max_pixels}; raise the limit (--max-pixels) if the file is trusted",
            )
        upright = (height, width) if _orientation(img) in _TRANSPOSED_ORIENTATIONS else (width, height)
        if min(upright) < MIN_SIDE:
            raise FaceError(Reasons.IMAGE_TOO_SMALL, f"{name} is {upright[0]}x{upright[1]}, under {MIN_SIDE}x{MIN_SIDE}")
        region = face_region(box, upright, margin)
        if region[2] - region[0] < MIN_SIDE:
            side = region[2] - region[0]
            raise FaceError(Reasons.IMAGE_TOO_SMALL, f"{name}: the face region is {side}x{side}, under {MIN_SIDE}x{MIN_SIDE}")
        scale = _draft(img, region[2] - region[0], size)
        try:
            img.load()
            oriented = ImageOps.exif_transpose(img)
            rgb = to_rgb(oriented)
        except _DECODE_ERRORS as err:
            raise FaceError(Reasons.IMAGE_UNREADABLE, f"{name} does not decode: {type(err).__name__}: {err}") from err
        left, top, right, bottom = region
        scaled = (left * scale, top * scale, right * scale, bottom * scale)
        face = rgb.resize((size, size), Image.Resampling.LANCZOS, box=scaled, reducing_gap=3.0)
        return np.asarray(face, dtype=np.uint8)


def encode_jpeg(pixels: np.ndarray) -> bytes:
    """A preprocessed face as JPEG bytes: quality 95, 4:4:4, no metadata; the same pixels give the same bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), "RGB").save(
        buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=False
    )
    return buf.getvalue()


# --------------------------------------------------------------------------- the steps


def face_region(box: Box | None, image_size: tuple[int, int], margin: float = MARGIN) -> tuple[int, int, int, int]:
    """The square region to cut, in pixels of the upright image: left, top, right, bottom (exclusive).

    The box grows by `margin` of its width and height on each side and is clipped to the image;
    the shorter side of what remains sets the square, centred. No box: the centred square of the
    whole image. An empty box or one that does not overlap the image raises FaceError(bad face box).
    """
    width, height = image_size
    if box is None:
        left, top, right, bottom = 0.0, 0.0, float(width), float(height)
    else:
        coords = box.as_list()
        if not all(math.isfinite(v) for v in coords):
            raise FaceError(Reasons.BAD_BOX, f"face box {coords} has a non-finite coordinate")
        if box.width <= 0 or box.height <= 0:
            raise FaceError(Reasons.BAD_BOX, f"face box {coords} is empty (width {box.width}, height {box.height})")
        if box.right <= 0 or box.bottom <= 0 or box.left >= width or box.top >= height:
            raise FaceError(Reasons.BAD_BOX, f"face box {coords} lies outside the {width}x{height} image")
        dx, dy = margin * box.width, margin * box.height
        left, top = max(0.0, box.left - dx), max(0.0, box.top - dy)
        right, bottom = min(float(width), box.right + dx), min(float(height), box.bottom + dy)
    # whole pixels: the grown box's outer edges, then the centred square of its shorter side
    x0, y0 = math.floor(left), math.floor(top)
    x1, y1 = min(width, math.ceil(right)), min(height, math.ceil(bottom))
    side = min(x1 - x0, y1 - y0)
    x0 += (x1 - x0 - side) // 2
    y0 += (y1 - y0 - side) // 2
    return x0, y0, x0 + side, y0 + side


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: 16/32-bit grey scaled, alpha composited on white, CMYK/palette converted."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I;16") or mode == "I":
        grey = np.asarray(img).astype(np.int64)
        grey = (np.clip(grey, 0, 65535) * 255 + 32767) // 65535  # 16-bit range -> 8 bits, rounded
        return Image.fromarray(grey.astype(np.uint8), "L").convert("RGB")
    if mode == "P" and "transparency" in img.info or mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(_ORIENTATION_TAG, 1))
    except _DECODE_ERRORS:
        return 1  # unreadable EXIF: the image is used as stored (exif_transpose will say if it is broken)


def _draft(img: Image.Image, region_side: int, size: int) -> float:
    """Let a JPEG decode at 1/2, 1/4 or 1/8 scale when the region stays >= `size`; the scale applied."""
    if img.format != "JPEG":
        return 1.0
    reduction = region_side // size
    if reduction < 2:
        return 1.0
    width, height = img.size
    drafted: Any = img.draft(img.mode, (math.ceil(width / reduction), math.ceil(height / reduction)))
    if not drafted:
        return 1.0
    return float(drafted[1][2]) / width
