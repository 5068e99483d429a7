"""A fake AffectNet: the two manual-annotation CSVs (landmarks ``;``-joined in one field) and images.

training.csv: 5 rows written (one with valence -2, one with arousal -2), expressions 8/9/10 filtered
(``none``, ``uncertain``, ``non-face``), one expression 11 (unknown label), one row without its
landmark column (malformed), one whose image is missing. validation.csv: 3 rows written, one
``non-face`` filtered, one empty box (bad face box), one repeat of a training path.
Variants: ``default`` (header in both files, ``Manually_Annotated_Images/``), ``headerless``
(validation.csv without header, CRLF, ``Manually_Annotated/Manually_Annotated_Images/``, a spaced
non-ASCII file name), ``compressed`` (``Manually_Annotated_compressed/`` inside an extra
``AffectNet/`` folder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from converters.affectnet import HEADER
from converters.fakes import fake_face, save_image, write_text

# (path, (x, y, w, h), expression, valence, arousal)
TRAIN = [
    ("689/737db2483489148d783ef278f43f486c0a97e140fc4b6b61b84363ca.jpg", (8, 8, 40, 40), 1, 0.785714, -0.055556),
    ("2/9db2af5a1da8bd77355e8c6a655da519a899ecc42641bf254107bfc0.jpg", (4, 2, 40, 44), 0, -0.0012, 0.1),
    ("12/3b1c0e55aa.png", (10, 10, 30, 30), 7, -2, 0.51),
    ("12/4c2d1f66bb.JPG", (0, 0, 48, 48), 2, -0.6671, -2),
    ("400/odd.jpg", (5, 5, 35, 35), 6, 0.25, 0.75),
    ("7/none.jpg", (5, 5, 35, 35), 8, -2, -2),
    ("7/uncertain.jpg", (5, 5, 35, 35), 9, -2, -2),
    ("7/nonface.jpg", (5, 5, 35, 35), 10, -2, -2),
    ("7/eleven.jpg", (5, 5, 35, 35), 11, 0.1, 0.1),  # unknown label
    ("7/short.jpg", (5, 5, 35, 35), 3, 0.1, 0.1),  # landmark column missing: malformed
    ("7/missing.jpg", (5, 5, 35, 35), 4, -0.3, 0.9),  # image missing
]
VAL = [
    ("30/a1.jpg", (8, 8, 40, 40), 3, 0.3333, 0.6667),
    ("30/a2.jpg", (2, 2, 40, 40), 4, -0.5, 0.5),
    ("31/a3.jpg", (6, 6, 36, 36), 5, -0.75, 0.25),
    ("31/nf.jpg", (6, 6, 36, 36), 10, -2, -2),
    ("31/flat.jpg", (6, 6, 0, 36), 1, 0.5, 0.5),  # empty box
    ("400/odd.jpg", (5, 5, 35, 35), 6, 0.25, 0.75),  # repeats a training path
]
SHORT, MISSING = "7/short.jpg", "7/missing.jpg"
ODD = "400/odd.jpg"


def _landmarks(rng: np.random.Generator) -> str:
    return ";".join(f"{v:.2f}" for v in rng.uniform(0, 48, 136))


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    images = "Manually_Annotated_Images"
    if variant == "headerless":
        images = "Manually_Annotated/Manually_Annotated_Images"
    elif variant == "compressed":
        folder, images = folder / "AffectNet", "Manually_Annotated_compressed"
    odd = "400/été photo 1.jpg" if variant == "headerless" else ODD
    rng = np.random.default_rng(4)
    seed = 4000
    for file, table in (("training.csv", TRAIN), ("validation.csv", VAL)):
        lines = [",".join(HEADER)] if not (variant == "headerless" and file == "validation.csv") else []
        for path, (x, y, w, h), expression, valence, arousal in table:
            path = odd if path == ODD else path
            landmarks = [] if path == SHORT else [_landmarks(rng)]
            lines.append(",".join([path, str(x), str(y), str(w), str(h), *landmarks, str(expression), str(valence), str(arousal)]))
            seed += 1
            if path != MISSING:
                save_image(fake_face(seed, (48, 48)), folder / images / path)
        write_text(folder / "Manually_Annotated_file_lists" / file, "\n".join(lines) + "\n", crlf=variant == "headerless")
