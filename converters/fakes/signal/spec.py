"""What a signal face shows: `FaceSpec`, and the specs of labelled records and of caption faces."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import webcolors

from schemas import LabelValue

RGB = tuple[int, int, int]

HAIR_COLORS: dict[str, RGB] = {
    "black": (25, 22, 22), "brown": (105, 62, 32), "blond": (225, 195, 115),
    "gray": (165, 165, 170), "red": (175, 60, 30),
}
"""Hair colour -> its drawn RGB (jittered a little per face); ``"none"`` (bald) draws skin instead."""
BALD = "none"
SKIN_TONES: dict[str, RGB] = {
    "white": (245, 215, 200), "east asian": (240, 210, 150), "middle eastern": (215, 170, 140),
    "latino hispanic": (200, 150, 110), "southeast asian": (180, 130, 80), "indian": (150, 100, 65),
    "black": (95, 62, 45),
}
"""Skin tone, one per FairFace race bin (the converter's spelling) -> RGB."""
EXPRESSIONS = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
"""The expressions drawn; each dataset's spelling maps onto these (`EXPRESSION_ALIASES`)."""
EXPRESSION_ALIASES = {"happiness": "happy", "sadness": "sad", "angry": "anger"}
MOUTH_INNER: RGB = (215, 35, 145)
"""The open mouth's colour, far from every skin and hair colour, so a smile can be read back."""
RIMS: RGB = (22, 22, 28)
ASPECT = 1.25
"""Face oval height / width."""
EYE_COLORS: tuple[RGB, ...] = ((70, 45, 25), (60, 100, 150), (70, 110, 60), (40, 30, 25), (110, 80, 45))
LIPSTICK: RGB = (190, 30, 55)
FAIRFACE_AGES = {"0-2": (0, 2), "3-9": (3, 9), "10-19": (10, 19), "20-29": (20, 29), "30-39": (30, 39),
                 "40-49": (40, 49), "50-59": (50, 59), "60-69": (60, 69), "more than 70": (70, 90)}
DIALOG_AGES = ((5, 14), (15, 29), (30, 39), (40, 49), (50, 59), (60, 85))  # CelebA-Dialog age levels 0..5


@dataclass(frozen=True)
class FaceSpec:
    """One face to draw: its visible features and its nuisance (where, how big, on what)."""

    male: bool
    age: float  # years, 0..100: grey temples and face lines grow with it
    skin: str  # a key of SKIN_TONES
    skin_rgb: RGB
    hair_color: str  # a key of HAIR_COLORS, or BALD
    hair_rgb: RGB
    long_hair: bool
    bangs: bool
    expression: str  # one of EXPRESSIONS
    eyeglasses: bool
    beard: bool
    moustache: bool
    lipstick: bool
    earrings: bool
    lip_rgb: RGB
    eye_rgb: RGB  # the iris
    bushy_brows: bool = False
    narrow_eyes: bool = False
    makeup: bool = False  # eye shadow
    big_nose: bool = False
    # nuisance
    scale: float = 0.235  # fw / side of the image's centred square
    dx: float = 0.0  # face centre offset, fractions of that square
    dy: float = 0.0
    background: RGB = (60, 110, 200)

    @property
    def smiling(self) -> bool:
        return self.expression == "happy"

    @property
    def bald(self) -> bool:
        return self.hair_color == BALD


# --------------------------------------------------------------------------- specs


def _jitter(rgb: Sequence[float], rng: np.random.Generator, amount: int) -> RGB:
    r, g, b = (int(min(255, max(0, round(v + j)))) for v, j in zip(rgb, rng.integers(-amount, amount + 1, 3)))
    return (r, g, b)


def _backgrounds() -> np.ndarray:
    """Background colours far from every skin, hair, mouth and rim colour and from grey."""
    grid = np.array([(r, g, b) for r in range(0, 256, 24) for g in range(0, 256, 24) for b in range(0, 256, 24)], float)
    avoid = np.array([*HAIR_COLORS.values(), *SKIN_TONES.values(), MOUTH_INNER, RIMS, LIPSTICK, *EYE_COLORS], float)
    far = np.sqrt(((grid[:, None] - avoid[None]) ** 2).sum(-1)).min(1) > 95
    saturated = grid.max(1) - grid.min(1) > 90
    return grid[far & saturated]


BACKGROUNDS = _backgrounds()


_HAIR_ODDS = (("black", 0.32), ("brown", 0.64), ("blond", 0.86), ("red", 0.96), ("gray", 1.0))  # cumulative
_EXPRESSION_ODDS = tuple((e, 0.4 + 0.3 * (i > 0) + 0.05 * max(0, i - 1)) for i, e in enumerate(EXPRESSIONS))


def _weighted(rng: np.random.Generator, cumulative: Sequence[tuple[str, float]]) -> str:
    u = rng.random() * cumulative[-1][1]
    return next(name for name, edge in cumulative if u < edge)


def _age_in(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high + 0.99))


def _compose(rng: np.random.Generator, given: Mapping[str, Any]) -> FaceSpec:
    """A spec with the `given` features; every other feature drawn from rng, conditioned on them."""

    def pick(name: str, draw: Callable[[], Any]) -> Any:
        return given[name] if name in given else draw()

    male = bool(pick("male", lambda: rng.random() < 0.5))
    age = float(pick("age", lambda: rng.uniform(5, 85)))
    adult = age >= 18
    skin = pick("skin", lambda: list(SKIN_TONES)[rng.integers(len(SKIN_TONES))])
    skin_rgb = _jitter(SKIN_TONES[skin], rng, 6)
    if given.get("pale"):
        skin_rgb = tuple(int(v + (255 - v) * 0.35) for v in skin_rgb)  # type: ignore[assignment]

    def hair_draw() -> str:
        if male and age > 40 and not given.get("bangs") and not given.get("long_hair") and rng.random() < 0.15:
            return BALD
        if age > 55 and rng.random() < 0.5:
            return "gray"
        return _weighted(rng, _HAIR_ODDS)

    hair_color = pick("hair_color", hair_draw)
    hair_rgb = skin_rgb if hair_color == BALD else _jitter(HAIR_COLORS[hair_color], rng, 8)
    if hair_color != BALD and math.dist(hair_rgb, skin_rgb) < 30:  # brown hair on dark skin: keep them apart
        hair_rgb = HAIR_COLORS[hair_color]
        away = np.subtract(skin_rgb, hair_rgb, dtype=float)
        away = away / max(1e-6, float(np.linalg.norm(away))) if np.linalg.norm(away) > 1 else np.array([-1.0, -1.0, -1.0]) / 3**0.5
        skin_rgb = _jitter(np.add(hair_rgb, 30 * away).tolist(), rng, 0)
    long_hair = hair_color != BALD and bool(pick("long_hair", lambda: rng.random() < (0.15 if male else 0.75)))
    bangs = hair_color != BALD and bool(pick("bangs", lambda: rng.random() < 0.3))
    expression = pick("expression", lambda: _weighted(rng, _EXPRESSION_ODDS))
    eyeglasses = bool(pick("eyeglasses", lambda: rng.random() < 0.25))
    beard = bool(pick("beard", lambda: male and adult and rng.random() < 0.3))
    moustache = bool(pick("moustache", lambda: male and adult and rng.random() < (0.7 if beard else 0.15)))
    lipstick = bool(pick("lipstick", lambda: not male and age >= 15 and rng.random() < 0.5))
    earrings = bool(pick("earrings", lambda: rng.random() < (0.05 if male else 0.4)))
    natural_lips = (skin_rgb[0] * 0.78, skin_rgb[1] * 0.5, skin_rgb[2] * 0.55)
    lip_rgb = pick("lip_rgb", lambda: _jitter(LIPSTICK if lipstick else natural_lips, rng, 8))
    eye_rgb = pick("eye_rgb", lambda: _jitter(EYE_COLORS[rng.integers(len(EYE_COLORS))], rng, 8))
    return FaceSpec(
        male=male, age=age, skin=skin, skin_rgb=skin_rgb, hair_color=hair_color, hair_rgb=hair_rgb,
        long_hair=long_hair, bangs=bangs, expression=expression, eyeglasses=eyeglasses, beard=beard,
        moustache=moustache, lipstick=lipstick, earrings=earrings, lip_rgb=tuple(int(v) for v in lip_rgb),  # type: ignore[arg-type]
        eye_rgb=tuple(int(v) for v in eye_rgb),  # type: ignore[arg-type]
        bushy_brows=bool(pick("bushy_brows", lambda: rng.random() < (0.4 if male else 0.1))),
        narrow_eyes=bool(pick("narrow_eyes", lambda: rng.random() < 0.1)),
        makeup=bool(pick("makeup", lambda: not male and adult and rng.random() < 0.3)),
        big_nose=bool(pick("big_nose", lambda: rng.random() < 0.2)),
        scale=float(rng.uniform(0.21, 0.26)), dx=float(rng.uniform(-0.08, 0.08)), dy=float(rng.uniform(-0.04, 0.04)),
        background=_jitter(BACKGROUNDS[rng.integers(len(BACKGROUNDS))], rng, 8),
    )


def _gender(labels: Mapping[str, LabelValue], given: dict[str, Any]) -> None:
    if labels.get("gender") in ("male", "female"):
        given["male"] = labels["gender"] == "male"


def _expression(labels: Mapping[str, LabelValue], given: dict[str, Any]) -> None:
    name = str(labels["expression"])
    given["expression"] = EXPRESSION_ALIASES.get(name, name)
    if given["expression"] not in EXPRESSIONS:
        raise ValueError(f"expression {name!r} is not one of {EXPRESSIONS} (or {sorted(EXPRESSION_ALIASES)})")


def _celeba(labels: Mapping[str, LabelValue], rng: np.random.Generator, given: dict[str, Any]) -> None:
    _gender(labels, given)
    given["age"] = rng.uniform(16, 35) if labels["young"] else rng.uniform(40, 80)
    colours = [c for c, key in (("black", "black hair"), ("blond", "blond hair"), ("brown", "brown hair"), ("gray", "gray hair")) if labels[key]]
    given["hair_color"] = BALD if labels["bald"] else colours[rng.integers(len(colours))] if colours else "red"
    open_mouth = "surprise" if labels["mouth slightly open"] else "neutral"
    given["expression"] = "happy" if labels["smiling"] else open_mouth
    given.update(bangs=labels["bangs"], eyeglasses=labels["eyeglasses"], beard=not labels["no beard"] or labels["goatee"],
                 moustache=labels["mustache"], lipstick=labels["wearing lipstick"], earrings=labels["wearing earrings"],
                 pale=labels["pale skin"], bushy_brows=labels["bushy eyebrows"], narrow_eyes=labels["narrow eyes"],
                 makeup=labels["heavy makeup"], big_nose=labels["big nose"])
    if labels["pale skin"]:
        given["skin"] = "white"


def _css_rgb(words: LabelValue) -> RGB:
    rgb = webcolors.name_to_rgb(str(words).replace(" ", ""))
    return (int(rgb.red), int(rgb.green), int(rgb.blue))


def _fs2k(labels: Mapping[str, LabelValue], rng: np.random.Generator, given: dict[str, Any]) -> None:
    _gender(labels, given)
    colour = {"brown": "brown", "black": "black", "red": "red", "golden": "blond", "no hair": BALD}[str(labels["hair color"])]
    given["hair_color"] = colour if labels["hair"] else BALD
    given["age"] = rng.uniform(18, 60)
    given["earrings"] = labels["earring"]
    given["expression"] = "happy" if labels["smile"] else "neutral"
    for key, field in (("lip color", "lip_rgb"), ("eye color", "eye_rgb")):
        if key in labels:
            given[field] = _css_rgb(labels[key])


def _expression_only(labels: Mapping[str, LabelValue], rng: np.random.Generator, given: dict[str, Any]) -> None:
    _expression(labels, given)


def _age_gender(labels: Mapping[str, LabelValue], rng: np.random.Generator, given: dict[str, Any]) -> None:
    if "age" in labels:
        given["age"] = float(labels["age"]) + float(rng.random())  # type: ignore[arg-type]
    _gender(labels, given)


def _afad(labels: Mapping[str, LabelValue], rng: np.random.Generator, given: dict[str, Any]) -> None:
    _age_gender(labels, rng, given)
    given["skin"] = "east asian"  # AFAD: Asian faces


def _fairface(labels: Mapping[str, LabelValue], rng: np.random.Generator, given: dict[str, Any]) -> None:
    given["age"] = _age_in(rng, *FAIRFACE_AGES[str(labels["age"])])
    _gender(labels, given)
    given["skin"] = str(labels["race"])


def _celeba_dialog(labels: Mapping[str, LabelValue], rng: np.random.Generator, given: dict[str, Any]) -> None:
    if "age" in labels:  # a record without levels has no labels: everything random
        given["age"] = _age_in(rng, *DIALOG_AGES[int(labels["age"])])
        given.update(bangs=int(labels["bangs"]) >= 3, eyeglasses=int(labels["eyeglasses"]) >= 1,
                     beard=int(labels["beard"]) >= 1)
        given["expression"] = "happy" if int(labels["smiling"]) >= 1 else "neutral"
        if given["beard"]:
            given["male"] = True


_FROM_LABELS: dict[str, Callable[[Mapping[str, LabelValue], np.random.Generator, dict[str, Any]], None]] = {
    "celeba": _celeba, "fs2k": _fs2k, "affectnet": _expression_only, "rafdb": _expression_only,
    "expw": _expression_only, "cacd": _age_gender, "afad": _afad, "imdb_wiki": _age_gender,
    "fairface": _fairface, "celeba_dialog": _celeba_dialog,
}
LABELLED = tuple(_FROM_LABELS)
"""The datasets `spec_from_labels` reads."""


def spec_from_labels(dataset: str, labels: Mapping[str, LabelValue], rng: np.random.Generator) -> FaceSpec:
    """The face of a record whose typed labels (as the dataset's converter emits them) are `labels`."""
    try:
        read = _FROM_LABELS[dataset]
    except KeyError:
        raise KeyError(f"spec_from_labels reads {', '.join(LABELLED)}; not {dataset!r} (use random_spec)") from None
    given: dict[str, Any] = {}
    read(labels, rng, given)
    return _compose(rng, given)


def spec_from_fs2k_entry(entry: Mapping[str, Any], rng: np.random.Generator) -> FaceSpec:
    """The face of one native FS2K JSON entry; its lips and eyes are drawn in the entry's exact RGB."""
    from converters.fs2k import entry_labels  # FS2K's own reading of the entry

    labels = entry_labels(entry)
    spec = spec_from_labels("fs2k", labels, rng)
    exact: dict[str, Any] = {}
    for key, field in (("lip_color", "lip_rgb"), ("eye_color", "eye_rgb")):
        rgb = entry.get(key)
        if isinstance(rgb, list) and len(rgb) == 3 and all(v == v for v in rgb):  # not NaN
            exact[field] = tuple(int(min(255, max(0, round(v)))) for v in rgb)
    return replace(spec, **exact)


def random_spec(rng: np.random.Generator, *, male: bool | None = None) -> FaceSpec:
    """A face with every feature drawn from rng (`male` fixes the gender: FFHQ-Text's faces are women)."""
    return _compose(rng, {} if male is None else {"male": male})
