"""The contact sheet: faces (stored JPEGs or decoded tokens) with their texts beneath, as a PNG."""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.inspect.corpus import Corpus, Decoder, InspectError, open_stream
from pipeline.inspect.samples import find_samples
from schemas.shard import TarDamage, iter_members, shard_file

SHEET_THUMB = 192  # face size in pixels
SHEET_PAD = 6
SHEET_LINES = 6  # text lines beneath each face
SHEET_LINE_HEIGHT = 13
SHEET_FONT_SIZE = 11


def sheet_size(count: int, columns: int = 8, thumb: int = SHEET_THUMB) -> tuple[int, int]:
    """The (width, height) in pixels of a contact sheet of `count` faces in `columns` columns."""
    cols = max(1, min(columns, count))
    rows = max(1, math.ceil(count / cols))
    cell_w = thumb + 2 * SHEET_PAD
    cell_h = thumb + 2 * SHEET_PAD + SHEET_LINES * SHEET_LINE_HEIGHT
    return cols * cell_w, rows * cell_h


def _pick_for_sheet(table: pa.Table, n: int, dataset: str | None, split: str | None, max_shards: int = 4) -> list[str]:
    """Up to `n` keys taken round-robin from at most `max_shards` shards evenly spread over the matches."""
    views = table
    if dataset:
        views = views.filter(pc.equal(views["dataset"], dataset))
    if split:
        views = views.filter(pc.equal(views["split"], split))
    pairs = views.group_by(["shard", "key"]).aggregate([]).sort_by([("shard", "ascending"), ("key", "ascending")])
    by_shard: dict[str, list[str]] = {}
    for shard, key in zip(pairs["shard"].to_pylist(), pairs["key"].to_pylist()):
        by_shard.setdefault(shard, []).append(key)
    shards = sorted(by_shard)
    if len(shards) > max_shards:
        shards = [shards[int(round(x))] for x in np.linspace(0, len(shards) - 1, max_shards)]
    keys: list[str] = []
    depth = 0
    while len(keys) < n and any(depth < len(by_shard[s]) for s in shards):
        keys += [by_shard[s][depth] for s in shards if depth < len(by_shard[s])][: n - len(keys)]
        depth += 1
    return keys


def _wrap(draw: Any, font: Any, texts: Sequence[str], width: int, lines: int) -> list[str]:
    out: list[str] = []
    for text in texts:
        text = unicodedata.normalize("NFC", text)  # one glyph for "e" + combining accent: the font has no combining marks
        line = ""
        for word in text.split():
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=font) <= width:
                line = trial
                continue
            if line:
                out.append(line)
            while draw.textlength(word, font=font) > width and len(word) > 1:  # a word longer than a line
                cut = max(1, int(len(word) * width / draw.textlength(word, font=font)) - 1)
                out.append(word[:cut])
                word = word[cut:]
            line = word
        if line:
            out.append(line)
    if len(out) > lines:
        last = out[lines - 1]
        while last and draw.textlength(last + "...", font=font) > width:
            last = last[:-1]
        out = out[: lines - 1] + [last + "..."]
    return out


def load_faces(corpus: Corpus, shards: Mapping[str, str], decode: Decoder | None = None) -> dict[str, Any]:
    """The faces (PIL images) of the samples `shards` names (key -> the shard the manifest gives), by key.

    A face is the stored ``<key>.jpg`` when present, else ``<key>.tokens.npy`` through `decode`;
    InspectError when a face needs decoding and no decoder is given, or a shard is missing or damaged.
    """
    from PIL import Image

    wanted = set(shards)
    fields: dict[str, dict[str, bytes]] = {}
    shard_paths = {shard_file(p): p for p in corpus.shard_paths()}
    for shard in sorted({shard_file(s) for s in shards.values()}):
        path = shard_paths.get(shard)
        if path is None:
            raise InspectError(f"shard {shard} named by the manifest is not in {corpus.path('shards')}; run --validate")
        need = {k for k in wanted if shard_file(shards[k]) == shard}

        def needed(name: str, need: set[str] = need) -> bool:
            return name.split(".", 1)[0] in need

        try:
            with open_stream(corpus, path) as stream:
                for member in iter_members(stream, needed):
                    key, _, ext = member.name.partition(".")
                    if key not in need and need <= fields.keys():  # members of a sample are contiguous
                        break
                    if member.data is not None and key in need:
                        fields.setdefault(key, {})[ext] = member.data
        except TarDamage as err:
            raise InspectError(f"shard {shard}: {err}; run --validate") from err
    faces: dict[str, Any] = {}
    to_decode: list[str] = []
    for key in shards:
        got = fields.get(key, {})
        if "jpg" in got:
            try:
                faces[key] = Image.open(io.BytesIO(got["jpg"])).convert("RGB")
                continue
            except OSError:
                pass
        if "tokens.npy" in got:
            to_decode.append(key)
    if to_decode:
        if decode is None:
            raise InspectError("this corpus keeps no JPEGs; pass a VQGAN decoder (--vqgan-preset or --vqgan-config)")
        codes = np.stack([np.load(io.BytesIO(fields[k]["tokens.npy"]), allow_pickle=False) for k in to_decode])
        pixels = np.asarray(decode(codes.astype(np.uint16)))
        for key, image in zip(to_decode, pixels):
            faces[key] = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).convert("RGB")
    return faces


def contact_sheet(
    corpus: Corpus,
    table: pa.Table,
    *,
    n: int = 32,
    dataset: str | None = None,
    split: str | None = None,
    decode: Decoder | None = None,
    columns: int = 8,
    thumb: int = SHEET_THUMB,
) -> tuple[Any, list[str]]:
    """A contact sheet (PIL image) of up to `n` faces with their texts beneath, and the keys drawn.

    Faces come from the stored ``<key>.jpg`` when present, else from ``<key>.tokens.npy`` through
    `decode`; InspectError when a face needs decoding and no decoder is given.
    """
    from PIL import Image, ImageDraw, ImageFont

    keys = _pick_for_sheet(table, n, dataset, split)
    if not keys:
        if table.num_rows == 0:
            raise InspectError("the manifest has no rows, so there is no face to draw")
        raise InspectError(f"no samples match dataset={dataset!r} split={split!r}; `talk2face inspect OUT` lists "
                           "the datasets and splits")
    views = {v.key: v for v in find_samples(table.filter(pc.is_in(table["key"], value_set=pa.array(keys))), len(keys))}
    faces = load_faces(corpus, {k: views[k].shard for k in keys}, decode)
    drawn = [k for k in keys if k in faces]
    width, height = sheet_size(len(drawn), columns, thumb)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.load_default(size=SHEET_FONT_SIZE)
    except (TypeError, OSError):  # Pillow without FreeType
        font = ImageFont.load_default()
    cols = max(1, min(columns, len(drawn)))
    cell_w = thumb + 2 * SHEET_PAD
    cell_h = thumb + 2 * SHEET_PAD + SHEET_LINES * SHEET_LINE_HEIGHT
    for i, key in enumerate(drawn):
        x, y = (i % cols) * cell_w + SHEET_PAD, (i // cols) * cell_h + SHEET_PAD
        sheet.paste(faces[key].resize((thumb, thumb), Image.Resampling.BICUBIC), (x, y))
        texts = [t["text"] for t in views[key].texts]
        if dataset:
            texts = [t["text"] for t in views[key].texts if t["dataset"] == dataset] + [
                t["text"] for t in views[key].texts if t["dataset"] != dataset]
        for j, line in enumerate(_wrap(draw, font, texts, thumb, SHEET_LINES)):
            draw.text((x, y + thumb + 2 + j * SHEET_LINE_HEIGHT), line, fill="black", font=font)
    return sheet, drawn


def png_bytes(image: Any) -> bytes:
    """A PIL image as PNG bytes."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()

