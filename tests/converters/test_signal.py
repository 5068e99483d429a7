"""The signal corpus's drawing library: labels show in the picture and can be read back after preprocessing."""

from __future__ import annotations

import io
import time
from dataclasses import replace

import numpy as np
import pytest
import webcolors
from PIL import Image

from converters import fakes
from converters.celeba import ATTRIBUTES
from converters.fakes import signal as S
from converters.fs2k import entry_labels
from model.tokenizers.faces import decode_face
from schemas import canonical

SIZE = (72, 88)  # CelebA-like portrait: the pipeline keeps the centred 72x72 square


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def preprocessed(img: Image.Image, fmt: str = "PNG") -> np.ndarray:
    """The face as the pipeline sees it: the saved file through model.tokenizers.faces.decode_face (square, 256x256)."""
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return decode_face(buf.getvalue())


def celeba_labels(**on: bool) -> dict[str, bool | str]:
    labels: dict[str, bool | str] = {"gender": "male" if on.pop("male", False) else "female"}
    labels.update((canonical(a), False) for a in ATTRIBUTES if a != "Male")
    labels.update({"no beard": True, "young": True})
    labels.update((k.replace("_", " "), v) for k, v in on.items())
    return labels


def read(dataset: str, labels: dict, seed: int = 0) -> dict:
    return S.read_back(preprocessed(S.draw(S.spec_from_labels(dataset, labels, rng(seed)), SIZE, rng(seed))))


def test_draw_is_deterministic_and_seeded():
    spec = S.random_spec(rng(1))
    assert spec == S.random_spec(rng(1)) and spec != S.random_spec(rng(2))
    a, b = S.draw(spec, SIZE, rng(5)), S.draw(spec, SIZE, rng(5))
    assert a.mode == "RGB" and a.size == SIZE
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != S.draw(spec, SIZE, rng(6)).tobytes()  # the noise follows rng


def test_signal_is_not_a_fake_dataset():
    datasets = fakes.keys()
    assert "signal" not in datasets and "celeba" in datasets
    with pytest.raises(KeyError):
        fakes.generator("nope")


@pytest.mark.parametrize("seed", range(4))
def test_celeba_labels_show(seed):
    assert read("celeba", celeba_labels(smiling=True), seed)["smiling"]
    assert not read("celeba", celeba_labels(), seed)["smiling"]
    assert read("celeba", celeba_labels(black_hair=True), seed)["hair_color"] == "black"
    assert read("celeba", celeba_labels(blond_hair=True), seed)["hair_color"] == "blond"
    assert read("celeba", celeba_labels(brown_hair=True), seed)["hair_color"] == "brown"
    assert read("celeba", celeba_labels(gray_hair=True), seed)["hair_color"] == "gray"
    assert read("celeba", celeba_labels(eyeglasses=True), seed)["eyeglasses"]
    assert not read("celeba", celeba_labels(), seed)["eyeglasses"]
    bearded = celeba_labels(male=True)
    bearded["no beard"] = False
    assert read("celeba", bearded, seed)["beard"] and not read("celeba", celeba_labels(male=True), seed)["beard"]
    assert S.spec_from_labels("celeba", celeba_labels(bald=True, male=True), rng(seed)).hair_color == S.BALD


def test_celeba_specs_follow_every_used_label():
    spec = S.spec_from_labels("celeba", celeba_labels(male=True, mustache=True, bangs=True, young=False), rng())
    assert spec.male and spec.moustache and spec.bangs and spec.age >= 40
    assert spec.hair_color == "red"  # none of the four hair colours: a colour CelebA does not name
    woman = S.spec_from_labels("celeba", celeba_labels(wearing_lipstick=True, wearing_earrings=True), rng())
    assert not woman.male and woman.lipstick and woman.earrings and woman.age < 36


def _mouth(spec: S.FaceSpec) -> np.ndarray:
    face = preprocessed(S.draw(spec, SIZE, rng(3)))
    cx, cy, fw = S.read_back(face)["geometry"]
    fh = S.ASPECT * fw
    return face[int(cy + 0.3 * fh):int(cy + 0.95 * fh), int(cx - 0.7 * fw):int(cx + 0.7 * fw)].astype(int)


@pytest.mark.parametrize("dataset, values", [
    ("affectnet", ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")),
    ("rafdb", ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")),
    ("expw", ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")),
])
def test_expressions_change_the_mouth(dataset, values):
    specs = {v: S.spec_from_labels(dataset, {"expression": v}, rng()) for v in values}
    assert {S.EXPRESSION_ALIASES.get(v, v) for v in values} == {s.expression for s in specs.values()}
    base = next(iter(specs.values()))
    mouths = {v: _mouth(replace(base, expression=s.expression)) for v, s in specs.items()}  # same face otherwise
    for a in values:
        for b in values:
            if a < b:
                assert np.abs(mouths[a] - mouths[b]).mean() > 2, (a, b)
    for v, s in specs.items():
        assert read(dataset, {"expression": v})["smiling"] == (s.expression == "happy"), v


def test_fs2k_labels_and_native_colours():
    entry = {"image_name": "photo1/image0110", "skin_color": [163, 139], "lip_color": [156.97, 82.51, 79.0],
             "eye_color": [118.65, 72.26, 69.6], "hair": 0, "hair_color": 1, "gender": 1, "earring": 0, "smile": 0,
             "frontal_face": 0, "style": 0}
    native = S.spec_from_fs2k_entry(entry, rng())
    assert native.lip_rgb == (157, 83, 79) and native.eye_rgb == (119, 72, 70)
    assert not native.male and native.earrings and native.smiling and native.hair_color == "black"
    typed = S.spec_from_labels("fs2k", entry_labels(entry), rng())
    assert typed.lip_rgb == tuple(webcolors.name_to_rgb(str(entry_labels(entry)["lip color"]).replace(" ", "")))
    assert read("fs2k", entry_labels(entry))["smiling"] and read("fs2k", entry_labels(entry))["hair_color"] == "black"
    golden = entry_labels({**entry, "hair_color": 4, "smile": 1})
    assert read("fs2k", golden)["hair_color"] == "blond" and not read("fs2k", golden)["smiling"]
    assert S.spec_from_labels("fs2k", entry_labels({**entry, "hair": 1, "hair_color": 3}), rng()).bald


def _region(spec: S.FaceSpec, box: tuple[float, float, float, float]) -> np.ndarray:
    """Pixels of a box given in face units (x0, y0, x1, y1) of the drawn picture."""
    face = np.asarray(S.draw(spec, (256, 256), rng(3)), dtype=int)
    cx, cy, fw = 128 + 256 * spec.dx, 128 + 256 * spec.dy, 256 * spec.scale
    fh = S.ASPECT * fw
    x0, y0, x1, y1 = box
    return face[int(cy + y0 * fh):int(cy + y1 * fh), int(cx + x0 * fw):int(cx + x1 * fw)]


@pytest.mark.parametrize("dataset, young, old", [
    ("cacd", {"age": 20}, {"age": 70}),
    ("afad", {"age": 18, "gender": "male"}, {"age": 70, "gender": "male"}),
    ("imdb_wiki", {"age": 22, "gender": "female"}, {"age": 75, "gender": "female"}),
    ("fairface", {"age": "20-29", "gender": "male", "race": "white"}, {"age": "more than 70", "gender": "male", "race": "white"}),
])
def test_age_shows_in_temples_and_forehead(dataset, young, old):
    a, b = S.spec_from_labels(dataset, young, rng()), S.spec_from_labels(dataset, old, rng())
    assert a.age < 30 < 69 < b.age
    assert a.male == (young.get("gender") == "male") or "gender" not in young
    same = replace(a, age=b.age, hair_color=a.hair_color, bangs=False)
    young_face = _region(replace(a, bangs=False), (-1.2, -0.8, 1.2, -0.2))
    assert np.abs(young_face - _region(same, (-1.2, -0.8, 1.2, -0.2))).mean() > 3


def test_fairface_races_are_distinct_skin_tones():
    labels = {"age": "30-39", "gender": "female"}
    specs = [S.spec_from_labels("fairface", {**labels, "race": r}, rng()) for r in S.SKIN_TONES]
    cheeks = [_region(s, (0.45, 0.12, 0.65, 0.28)).reshape(-1, 3).mean(0) for s in specs]
    for i in range(len(cheeks)):
        for j in range(i):
            assert np.linalg.norm(cheeks[i] - cheeks[j]) > 15, (list(S.SKIN_TONES)[i], list(S.SKIN_TONES)[j])
    assert S.spec_from_labels("afad", {"age": 30, "gender": "female"}, rng()).skin == "east asian"


def test_celeba_dialog_levels_round_trip():
    spec = S.spec_from_labels("celeba_dialog", {"bangs": 5, "eyeglasses": 3, "beard": 2, "smiling": 4, "age": 4}, rng())
    assert spec.bangs and spec.eyeglasses and spec.beard and spec.smiling and 50 <= spec.age < 60
    levels = S.dialog_levels(spec)
    assert levels["age"] == 4 and all(levels[k] > 0 for k in ("bangs", "eyeglasses", "beard", "smiling"))
    with pytest.raises(KeyError, match="random_spec"):
        S.spec_from_labels("ffhq_text", {}, rng())


@pytest.mark.parametrize("dataset", S.CAPTIONED)
def test_captions_describe_the_drawn_face(dataset):
    gen = rng(7)
    for _ in range(20):
        spec = S.random_spec(gen, male=False if dataset == "ffhq_text" else None)
        texts = S.captions(dataset, spec, gen, 10)
        assert len(texts) == 10 and len(set(texts)) >= 8, texts
        for text in texts:
            assert text[0].isupper() and text.endswith("."), text
            if dataset == "celeba_dialog":
                assert ("no eyeglasses" in text or "no glasses" in text) != spec.eyeglasses, text
            elif spec.bald:
                assert any(w in text for w in ("bald", "no hair", "shaved")), text
            else:
                assert any(w in text for w in S.HAIR_WORDS[spec.hair_color]), text
                others = [w for c, ws in S.HAIR_WORDS.items() if c != spec.hair_color for w in ws if " " not in w]
                assert not any(f" {w} hair" in text for w in others), text


def test_captions_name_glasses_and_smiles_only_when_drawn():
    base = S.random_spec(rng(11), male=False)
    plain = replace(base, eyeglasses=False, expression="neutral")
    dressed = replace(base, eyeglasses=True, expression="happy")
    for dataset in ("ffhq_text", "mm_celeba_hq", "celeba_text_hq"):
        assert not any("glasses" in t for t in S.captions(dataset, plain, rng(), 10))
        assert all("glasses" in t for t in S.captions(dataset, dressed, rng(), 10))
    assert all("smil" not in t or "not smiling" in t for t in S.captions("celeba_dialog", plain, rng(), 10))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_read_back_after_preprocessing(fmt):
    gen, n = rng(42 if fmt == "PNG" else 43), 200
    right = {"hair_color": 0, "smiling": 0, "eyeglasses": 0, "beard": 0}
    for _ in range(n):
        spec = S.random_spec(gen)
        w = int(gen.integers(64, 113))
        size = (w, w + int(gen.integers(0, 30)))
        got = S.read_back(preprocessed(S.draw(spec, size[::-1] if gen.random() < 0.5 else size, gen), fmt))
        for key in right:
            right[key] += got[key] == getattr(spec, key)
    accuracy = {k: v / n for k, v in right.items()}
    print(f"read-back accuracy ({fmt}): {accuracy}")
    assert accuracy["hair_color"] >= 0.97 and accuracy["smiling"] >= 0.97
    assert accuracy["eyeglasses"] >= 0.95 and accuracy["beard"] >= 0.95


def test_read_back_of_a_blank_picture():
    assert not S.read_back(np.full((256, 256, 3), 90, np.uint8))["found"]


def test_face_box_holds_the_head():
    spec = S.random_spec(rng(4))
    left, top, right, bottom = S.face_box(spec, (200, 160))
    pixels = np.asarray(S.draw(spec, (200, 160), rng()), dtype=int)
    drawn = np.abs(pixels - np.array(spec.background)).max(-1) > 6  # background noise is -5..5
    ys, xs = np.nonzero(drawn)
    edges = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)  # PIL draws its boxes inclusive
    assert all(abs(drawn_at - at) <= 1.5 for drawn_at, at in zip(edges, (left, top, right, bottom))), (edges, (left, top, right, bottom))


def test_speed_is_measured():
    gen = rng(0)
    specs = [S.random_spec(gen) for _ in range(500)]
    start = time.perf_counter()
    for spec in specs:
        S.draw(spec, SIZE, gen)
    drawn = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(500):
        S.spec_from_labels("celeba", celeba_labels(smiling=True), gen)
    made = time.perf_counter() - start
    print(f"draw {SIZE}: {500 / drawn:.0f} faces/s; spec_from_labels(celeba): {500 / made:.0f} specs/s")
