"""A fake ExpW: ``label/label.lst`` (one line per face, box top/left/right/bottom) and ``image/origin/``.

14 lines: 8 faces written (5 train, 1 val, 2 test by the stable hash of the image name; one picture
holds two faces), one exact repeat (filtered ``duplicate``), label 9 (unknown label), a short line and
a same-face line with other values (malformed), an empty box (bad face box), a missing picture. The
first three lines are FORMATS.md's verbatim ones. Each picture is just large enough for its boxes.
Variants: ``default`` and ``mirror`` (``data/label`` + ``data/image/origin`` inside an extra ``ExpW/``
folder, CRLF, runs of spaces and trailing spaces, one picture name with spaces and non-ASCII letters).
"""

from __future__ import annotations

from pathlib import Path

from converters.fakes import fake_face, save_image, write_text

LINES = [
    "amazed_actor_579.jpg 0 16 161 354 209 38.5907 6",
    "afraid_African_214.jpg 0 33 275 342 100 68.6817 2",
    "excited_girl_40.jpg 0 160 352 544 352 68.0181 5",
    "angry_actor_611.jpg 0 67 156 290 201 49.5747 6",
    "angry_actor_611.jpg 1 40 368 464 136 18.4957 3",
    "angry_actor_611.jpg 1 40 368 464 136 18.4957 3",  # exact repeat: duplicate
    "angry_actor_57.jpg 0 20 30 120 130 85.1 3",  # val
    "angry_actor_21.jpg 0 10 10 90 90 90.5 4",  # test
    "angry_actor_21.jpg 2 10 100 180 90 2.18 1",  # test
    "angry_actor_13.jpg 0 77 51 362 388 85.8104 9",  # unknown label
    "angry_actor_104.jpg 0 28 113 226",  # malformed
    "angry_actor_120.jpg 1 53 53 53 372 13.9434 2",  # empty box
    "angry_African_97.jpg 3 128 510 558 176 39.7415 5",  # picture missing
    "angry_actor_57.jpg 0 20 30 120 130 85.1 2",  # the val face again with another label: malformed
]
MISSING = "angry_African_97.jpg"
SPACED = ("amazed_actor_579.jpg", "amazed actor é 579.jpg")  # renamed in the ``mirror`` variant


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    mirror = variant == "mirror"
    lines = LINES
    if mirror:
        folder = folder / "ExpW" / "data"
        lines = [line.replace(" ", "  ", 2).replace(*SPACED) + " " for line in LINES]
    write_text(folder / "label" / "label.lst", "\n".join(lines) + "\n", crlf=mirror)
    sizes: dict[str, tuple[int, int]] = {}
    for line in lines:
        fields = line.rsplit(None, 7)
        if len(fields) == 8:
            _, top, left, right, bottom = (int(v) for v in fields[1:6])
            w, h = sizes.get(fields[0], (0, 0))
            sizes[fields[0]] = (max(w, right + 8), max(h, bottom + 8))
    for i, (name, size) in enumerate(sorted(sizes.items())):
        if name != MISSING:
            save_image(fake_face(6000 + i, size), folder / "image" / "origin" / name)
