"""Captions of a drawn face in the style of each caption dataset (FORMATS.md sections 10-13).

* ``ffhq_text``: descriptive sentences about a woman (``The young woman has long blond hair ...``);
* ``mm_celeba_hq``: the attribute PCFG, ``{subject} {is} {IsAttributes}. {subject} {has} {HasAttributes}
  and {wears} {WearAttributes}.`` with CelebA's attribute words;
* ``celeba_text_hq``: free manual descriptions, clauses in any order;
* ``celeba_dialog``: the overall caption over its five attributes (eyeglasses, bangs, beard, age, smile).

Every caption says what `draw` drew; the first three always name the hair colour (`HAIR_WORDS`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from converters.fakes.signal.spec import FaceSpec

HAIR_WORDS: dict[str, tuple[str, ...]] = {
    "black": ("black", "jet-black", "dark black"), "brown": ("brown", "dark brown", "chestnut brown"),
    "blond": ("blond", "blonde", "golden blond"), "gray": ("gray", "grey", "silver-grey"),
    "red": ("red", "ginger red", "auburn red"),
}
"""The words a caption may use for each hair colour; each holds the colour's own name."""
MOODS = {
    "happy": ("is smiling", "has a big smile", "is laughing with her mouth open", "smiles broadly"),
    "neutral": ("looks calm", "has a neutral expression", "keeps her mouth closed", "looks relaxed"),
    "sad": ("looks sad", "seems unhappy", "has a sad face"), "surprise": ("looks surprised", "seems astonished"),
    "fear": ("looks frightened", "seems scared"), "disgust": ("looks disgusted", "wrinkles her mouth in disgust"),
    "anger": ("looks angry", "frowns angrily"), "contempt": ("has a contemptuous smirk", "smirks"),
}


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _phrases(rng: np.random.Generator, options: Sequence[tuple[bool, str | Sequence[str]]]) -> list[str]:
    """One phrase per option that is on, in order: picked from a tuple of wordings, or the one string as is."""
    return [phrases if isinstance(phrases, str) else _pick(rng, phrases) for on, phrases in options if on]


def _age_noun(spec: FaceSpec, rng: np.random.Generator) -> str:
    man, woman = ("boy", "man", "gentleman"), ("girl", "woman", "lady")
    nouns = man if spec.male else woman
    if spec.age < 13:
        return _pick(rng, ("little " + nouns[0], "child", nouns[0]))
    if spec.age < 20:
        return _pick(rng, ("teenage " + nouns[0], "teenager", "young " + nouns[1]))
    if spec.age < 36:
        return _pick(rng, ("young " + nouns[1], "young " + nouns[2], nouns[1]))
    if spec.age < 56:
        return _pick(rng, ("middle-aged " + nouns[1], "middle-aged " + nouns[2], "mature " + nouns[1]))
    return _pick(rng, ("elderly " + nouns[1], "old " + nouns[1], "elderly " + nouns[2]))


def _hair(spec: FaceSpec, rng: np.random.Generator) -> str:
    """``long wavy blond hair``-like words; ``no hair`` for a bald head."""
    if spec.bald:
        return _pick(rng, ("no hair", "a bald head", "a shaved head"))
    length = _pick(rng, ("long", "shoulder-length", "flowing") if spec.long_hair else ("short", "cropped", "short neat"))
    return f"{length} {_pick(rng, HAIR_WORDS[spec.hair_color])} hair"


def _mood(spec: FaceSpec, rng: np.random.Generator) -> str:
    mood = _pick(rng, MOODS[spec.expression])
    return mood if not spec.male else mood.replace(" her ", " his ")


def _ffhq_text(spec: FaceSpec, rng: np.random.Generator) -> str:
    she, her = ("He", "his") if spec.male else ("She", "her")
    extras = []
    if spec.bangs:
        extras.append(_pick(rng, ("with bangs", f"with a fringe over {her} forehead")))
    first = f"The {_age_noun(spec, rng)} has {_hair(spec, rng)}{' ' + extras[0] if extras else ''}"
    he = she.lower()
    rest = [f"{he} {_mood(spec, rng)}", *_phrases(rng, (
        (spec.eyeglasses, (f"{he} wears glasses", f"{he} is wearing thick eyeglasses")),
        (spec.lipstick, (f"{he} wears red lipstick", f"{her} lips are painted red")),
        (spec.earrings, f"{he} wears golden earrings"),
    ))]
    rng.shuffle(rest)  # type: ignore[arg-type]
    return f"{first}, and {', '.join(rest)}."


def _mm_celeba_hq(spec: FaceSpec, rng: np.random.Generator) -> str:
    subject = _pick(rng, ("He", "The man", "This man", "The person") if spec.male else ("She", "The woman", "This woman", "The person"))
    is_ = [w for w, on in (("smiling", spec.smiling), ("young", spec.age < 36), ("bald", spec.bald)) if on]
    if rng.random() < 0.5:
        is_.append("attractive")
    has = [] if spec.bald else [f"{_pick(rng, HAIR_WORDS[spec.hair_color][:2])} hair"]
    has += [w for w, on in (("bangs", spec.bangs), ("mustache", spec.moustache), ("beard", spec.beard),
                            ("mouth slightly open", spec.expression == "surprise"), ("bushy eyebrows", spec.bushy_brows),
                            ("big nose", spec.big_nose)) if on]
    if spec.bald:
        has.append("no hair")
    wears = [w for w, on in (("eyeglasses", spec.eyeglasses), ("lipstick", spec.lipstick), ("earrings", spec.earrings),
                             ("heavy makeup", spec.makeup)) if on]
    order = [list(x) for x in (is_, has, wears)]
    for words in order:
        rng.shuffle(words)  # type: ignore[arg-type]
    sentences = []
    if is_:
        sentences.append(f"{subject} {_pick(rng, ('is', 'looks', 'appears to be'))} {_join(is_, ', and ')}.")
    tail = f" and {_pick(rng, ('wears', 'is wearing'))} {_join(wears, ', ')}" if wears else ""
    sentences.append(f"{subject} {_pick(rng, ('has', 'is with'))} {_join(has, ', ')}{tail}.")
    return " ".join(sentences)


def _celeba_text_hq(spec: FaceSpec, rng: np.random.Generator) -> str:
    who = _pick(rng, ("man", "gentleman", "person") if spec.male else ("woman", "lady", "person"))
    he, his = ("he", "his") if spec.male else ("she", "her")
    clauses = [f"{he} {_mood(spec, rng)}", *_phrases(rng, (
        (spec.eyeglasses, (f"{he} wears glasses", f"{he} has a pair of black glasses")),
        (spec.beard, (f"{he} has a beard", f"{his} chin is covered by a beard")),
        (spec.moustache and not spec.beard, f"{he} has a mustache"),
        (spec.bangs, (f"{he} has bangs", f"{his} bangs cover {his} forehead")),
    ))]
    rng.shuffle(clauses)  # type: ignore[arg-type]
    opening = _pick(rng, (f"The {who} has {_hair(spec, rng)}", f"This {_age_noun(spec, rng)} has {_hair(spec, rng)}",
                          f"A {who} with {_hair(spec, rng)}"))
    rest = "".join(f" {c[0].upper()}{c[1:]}." for c in clauses[2:])
    return f"{opening}, {' and '.join(clauses[:2])}.{rest}"


def _celeba_dialog(spec: FaceSpec, rng: np.random.Generator) -> str:
    subject = (("This man", "This gentleman", "He", "The person") if spec.male else ("This lady", "This woman", "She", "The person"))
    glasses = ("wears eyeglasses", "has thick-framed eyeglasses") if spec.eyeglasses else ("has no eyeglasses", "wears no glasses")
    bangs = ("has bangs", "has long bangs") if spec.bangs else ("has no bangs", "shows the whole forehead")
    level = dialog_levels(spec)["age"]
    age = (("looks like a child", "is a child"), ("is a teenager", "looks extremely young"), ("is a young adult", "is in the thirties"),
           ("is middle-aged", "is in the forties"), ("is in the fifties", "is aged"), ("is elderly", "is very old"))[level]
    smile = ("has a beaming face", "is smiling", "has a big smile") if spec.smiling else ("is not smiling", "looks serious")
    parts = [_pick(rng, glasses), _pick(rng, bangs), _pick(rng, age), _pick(rng, smile)]
    if spec.male:
        parts.append(_pick(rng, ("has a beard", "has a bushy beard") if spec.beard else ("has no beard", "is clean-shaven")))
    rng.shuffle(parts)  # type: ignore[arg-type]
    cut = len(parts) // 2
    first, second = _pick(rng, subject), _pick(rng, subject)
    return f"{first} {_join(parts[:cut], ', and ')}. {second} {_join(parts[cut:], ' and ')}."


def dialog_levels(spec: FaceSpec) -> dict[str, int]:
    """CelebA-Dialog's five levels (0..5, its converter's label names) of a drawn face."""
    age = next((i for i, (_, high) in enumerate(((0, 15), (0, 30), (0, 40), (0, 50), (0, 60))) if spec.age < high), 5)
    return {"bangs": 4 if spec.bangs else 0, "eyeglasses": 3 if spec.eyeglasses else 0, "beard": 3 if spec.beard else 0,
            "smiling": 4 if spec.smiling else 0, "age": age}


def _join(words: Sequence[str], last: str) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + last + words[-1]


_STYLES: dict[str, Callable[[FaceSpec, np.random.Generator], str]] = {
    "ffhq_text": _ffhq_text, "mm_celeba_hq": _mm_celeba_hq, "celeba_text_hq": _celeba_text_hq,
    "celeba_dialog": _celeba_dialog,
}
CAPTIONED = tuple(_STYLES)
"""The datasets `captions` writes for."""


def captions(dataset: str, spec: FaceSpec, rng: np.random.Generator, n: int) -> list[str]:
    """`n` captions of the face `spec` draws, in `dataset`'s style; distinct while the phrasing allows."""
    try:
        style = _STYLES[dataset]
    except KeyError:
        raise KeyError(f"captions are written for {', '.join(CAPTIONED)}; not {dataset!r}") from None
    out: list[str] = []
    for _ in range(n):
        text = style(spec, rng)
        for _retry in range(8):
            if text not in out:
                break
            text = style(spec, rng)
        out.append(text)
    return out


