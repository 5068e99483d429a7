"""The signal corpus's drawing library: cartoon faces drawn from their labels, so labels can be seen.

Today's `fake_face` carries no information about a record's labels; the signal corpus draws every
face from them instead (black hair is a large black cap, a smile a wide open mouth, glasses thick
dark rims), so a model trained on its shards can visibly learn. This module knows faces, not file
formats: the fake raw-root generator chooses labels, writes the native files and calls it.

Public API::

    FaceSpec                                   # what is drawn: features + nuisance (position, size, background)
    spec_from_labels(dataset, labels, rng) -> FaceSpec
        # labels exactly as converters/<dataset>.py emits them in FaceRecord.labels, for celeba, fs2k,
        # affectnet, rafdb, expw, cacd, afad, imdb_wiki, fairface (and celeba_dialog's 0..5 levels);
        # features a dataset does not label are drawn from rng
    spec_from_fs2k_entry(entry, rng) -> FaceSpec   # an FS2K JSON entry: lips and eyes get its exact RGB
    random_spec(rng, *, male=None) -> FaceSpec    # for the caption datasets
    draw(spec, size, rng) -> PIL.Image.Image      # RGB; deterministic for a given rng state
    face_box(spec, size) -> (left, top, right, bottom)  # the head (hair and face), for box datasets
    captions(dataset, spec, rng, n) -> list[str]  # ffhq_text, mm_celeba_hq, celeba_text_hq, celeba_dialog
    dialog_levels(spec) -> dict[str, int]         # CelebA-Dialog's five 0..5 levels of a drawn face
    read_back(image) -> dict                      # hair_color, smiling, eyeglasses, beard of a 256x256 face

Drawing rules (all in units of the face oval's half width ``fw``; ``fh = ASPECT * fw``; the face
oval is centred at ``(cx, cy)`` inside the image's centred square, which is what the pipeline keeps):
hair cap: the upper half of an ellipse from ``cy - 1.3 fh`` to ``cy - 0.2 fh``, ``±1.2 fw`` wide
(in skin colour when bald, so the silhouette never changes); long hair falls to ``cy + 1.3 fh``;
bangs cover the forehead down to ``cy - 0.5 fh``; eyes at ``(cx ± 0.42 fw, cy - 0.15 fh)``; glasses are
rims of radius ``0.3 fw``, ``0.1 fw`` thick; the mouth's top is at ``cy + 0.45 fh``: a smile is the lower
half of an ellipse ``1.1 fw`` wide and ``0.36 fh`` deep filled with `MOUTH_INNER`, every other
expression's mouth is narrower than ``0.7 fw``; a beard fills the oval below ``cy + 0.3 fh``. Age adds
grey temples and face lines; `read_back` samples the same places relative to the detected head.
"""

from converters.fakes.signal.captions import CAPTIONED, HAIR_WORDS, captions, dialog_levels
from converters.fakes.signal.draw import draw, face_box
from converters.fakes.signal.read_back import read_back
from converters.fakes.signal.spec import (
    ASPECT,
    BALD,
    EXPRESSION_ALIASES,
    EXPRESSIONS,
    HAIR_COLORS,
    LABELLED,
    MOUTH_INNER,
    SKIN_TONES,
    FaceSpec,
    random_spec,
    spec_from_fs2k_entry,
    spec_from_labels,
)

__all__ = [
    "ASPECT", "BALD", "CAPTIONED", "EXPRESSION_ALIASES", "EXPRESSIONS", "HAIR_COLORS", "HAIR_WORDS", "LABELLED", "MOUTH_INNER",
    "SKIN_TONES", "FaceSpec", "captions", "dialog_levels", "draw", "face_box", "random_spec", "read_back",
    "spec_from_fs2k_entry", "spec_from_labels",
]
