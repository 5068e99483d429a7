"""The paper's inference templates (figure 3) and ``talk2face generate``.

Each template lays its prompt out exactly as model/data.py lays out the training sequence of the
same task (DESIGN.md 3.6), leaves the target for the model, and reads the answer back::

    text -> face       [CLS] to image [SEP] <text> [SEP]            | 256 image ids [SEP]   -> VQGAN decode -> PNG
    face -> caption    [CLS] to caption [SEP] <256 image ids> [SEP] | caption [SEP]
    face -> attribute  [CLS] to attributes [SEP] <256 image ids> [SEP] | cacd age: 25; [SEP] -> {"age": 25}

Left of ``|`` is the prompt (segment 1; for attributes the question ``cacd age:`` opens segment 2),
right of it what the sampler (model/sampling.py) generates with the model's KV cache. Image
positions may only emit image ids and text positions only text ids; an attribute answer may be
limited to the label values its dataset uses (known from the converters), so it always parses.

Command line (model/cli.py dispatches ``talk2face generate`` here)::

    talk2face generate --checkpoint runs/tiny/checkpoint.pt --vqgan-preset tiny-random \\
        --to image --text "This man has black hair. smiling : true ;" --n 4 --out faces/
    talk2face generate --checkpoint talk2face.bin --vqgan-config f16.yaml --vqgan-checkpoint f16.ckpt \\
        --to caption --image face.jpg
    talk2face generate --checkpoint talk2face.bin --vqgan-preset ffhq --to attributes --image face.jpg \\
        --prompt "cacd age:" --prompt "affectnet expression:"
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.data import (
    ATTRIBUTES_TO_FACE,
    CAPTION_TO_FACE,
    CLS_ID,
    FACE_TO_ATTRIBUTES,
    FACE_TO_CAPTION,
    IMAGE_OFFSET,
    IMAGE_TOKENS,
    PROMPTS,
    SEP_ID,
    SequenceBuilder,
)
from model.sampling import (
    ChoiceConstraint,
    Constraint,
    ImageConstraint,
    SamplingConfig,
    TextConstraint,
    row_seed,
    sample,
    trim,
)
from model.transformer import KVCache, Talk2Face
from schemas.text import LabelValue, TextProtocolError, canonical, normalize_caption, parse_attributes
from schemas.vocab import IMAGE_CODEBOOK_SIZE

IMAGE_SAMPLING = SamplingConfig(temperature=1.0, top_k=100, top_p=0.95)  # open-ended: top-k/top-p (paper 3.3)
CAPTION_SAMPLING = SamplingConfig.make_greedy()
ANSWER_SAMPLING = SamplingConfig.make_greedy()  # multiple choice: greedy (paper 3.3)
AGE_VALUES = tuple(str(n) for n in range(101))  # integer ages a model may answer, 0..100
FREE_ANSWER_TOKENS = 16  # longest unconstrained answer, in WordPiece ids, before [SEP]


# -----------------------------------------------------------------------------
# Loading models


def load_talk2face(path: str | Path, heads: int = 12) -> Talk2Face:
    """Our training checkpoint (model/checkpoint.py) or the released TencentPretrain ``talk2face.bin``, in eval mode."""
    from model.checkpoint import CheckpointError, load_model

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; pass a checkpoint.pt written by talk2face train "
                                "or the released talk2face.bin")
    try:
        return load_model(path)
    except CheckpointError as ours:
        try:
            return Talk2Face.from_tencentpretrain(path, heads=heads, dropout=0.0).eval()
        except ValueError as theirs:
            raise ValueError(f"{path} is neither our checkpoint ({ours}) nor a TencentPretrain one ({theirs})") from None


def load_image_tokenizer(
    preset: str | None = None, config: str | None = None, checkpoint: str | None = None, device: str | None = None
) -> Any:
    """The VQGAN (model/image_tokenizer.py) from a preset name or a taming config + checkpoint pair."""
    from model.image_tokenizer import ImageTokenizer

    if preset and (config or checkpoint):
        raise ValueError("give --vqgan-preset or --vqgan-config/--vqgan-checkpoint, not both")
    if preset:
        return ImageTokenizer.preset(preset, device=device)
    if not (config and checkpoint):
        raise ValueError("image input or output needs a VQGAN: --vqgan-preset NAME (tiny-random, ffhq-random: random "
                         "weights), or --vqgan-config project.yaml with --vqgan-checkpoint last.ckpt (the FFHQ f=16 VQGAN)")
    return ImageTokenizer.from_taming(config, checkpoint, device=device)


# -----------------------------------------------------------------------------
# Decoding adapters: the logits functions the sampler runs


@dataclass
class Decoding:
    """What `sample` needs: the first logits (B, V), a state, `step(token, state)` and `select(state, rows)`."""

    logits: torch.Tensor
    state: Any
    step: Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]
    select: Callable[[Any, torch.Tensor], Any]


def cached_decoding(
    model: Talk2Face, ids: torch.Tensor, segments: torch.Tensor, max_new_tokens: int,
    vocab: Sequence[int] | None = None,
) -> Decoding:
    """Generation with the model's KV cache: one prefill, then one token per row per step.

    `vocab`: the only ids the steps may emit; their output layer skips every other id (-inf logits).
    """
    logits, cache = model.prefill(ids, segments, max_new_tokens=max_new_tokens)
    if vocab is None:
        return Decoding(logits, cache, model.step, KVCache.select)
    only = torch.tensor(list(vocab), dtype=torch.long, device=ids.device)
    return Decoding(logits, cache, functools.partial(model.step, vocab=only), KVCache.select)


IMAGE_VOCAB = (SEP_ID, *range(IMAGE_OFFSET, IMAGE_OFFSET + IMAGE_CODEBOOK_SIZE))


def cached_image_decoding(model: Talk2Face, ids: torch.Tensor, segments: torch.Tensor, max_new_tokens: int) -> Decoding:
    """`cached_decoding` whose steps compute only the 1,025 logits a face can emit: its codes and [SEP]."""
    return cached_decoding(model, ids, segments, max_new_tokens, vocab=IMAGE_VOCAB)


@dataclass
class RecomputeState:
    """The whole sequence of each row (right-padded), rerun through the model at every step."""

    ids: torch.Tensor  # (B, capacity)
    segments: torch.Tensor  # (B, capacity)
    lengths: torch.Tensor  # (B,)

    def select(self, rows: torch.Tensor) -> RecomputeState:
        return RecomputeState(self.ids[rows], self.segments[rows], self.lengths[rows])


def recompute_decoding(model: Talk2Face, ids: torch.Tensor, segments: torch.Tensor, max_new_tokens: int) -> Decoding:
    """Generation without a cache: every step reruns the model over the whole sequence (the baseline)."""
    B, T = ids.shape
    state = RecomputeState(
        torch.cat([ids, ids.new_zeros(B, max_new_tokens)], 1),
        torch.cat([segments, segments.new_zeros(B, max_new_tokens)], 1),
        (segments > 0).sum(1),
    )

    @torch.no_grad()
    def last_logits(s: RecomputeState) -> torch.Tensor:
        width = int(s.lengths.max())
        h = model.hidden_states(s.ids[:, :width], s.segments[:, :width])  # (B, width, C)
        return model.lm_head(h[torch.arange(h.size(0), device=h.device), s.lengths - 1])  # (B, V)

    def step(token: torch.Tensor, s: RecomputeState) -> tuple[torch.Tensor, RecomputeState]:
        rows = torch.arange(token.size(0), device=token.device)
        s.ids[rows, s.lengths] = token
        s.segments[rows, s.lengths] = 2
        s.lengths = s.lengths + 1
        return last_logits(s), s

    return Decoding(last_logits(state), state, step, RecomputeState.select)


DecodingFn = Callable[[Talk2Face, torch.Tensor, torch.Tensor, int], Decoding]


# -----------------------------------------------------------------------------
# Prompts, laid out as model/data.py lays out training sequences


@dataclass(frozen=True)
class Prompt:
    """One prompt row: ids and segments (1 = prompt and prefix, 2 = an opening of the target)."""

    ids: tuple[int, ...]
    segments: tuple[int, ...]


@lru_cache(maxsize=4)
def default_builder(text_budget: int = 64) -> SequenceBuilder:
    """The training side's sequence builder (and through it the project's text tokenizer)."""
    return SequenceBuilder(text_budget=text_budget)


def _prompt(task: int, prefix: Sequence[int], builder: SequenceBuilder, opening: Sequence[int] = ()) -> Prompt:
    first = [CLS_ID, *builder.tokenizer.encode(PROMPTS[task]), SEP_ID, *prefix, SEP_ID]
    ids = tuple(int(i) for i in (*first, *opening))
    return Prompt(ids, (1,) * len(first) + (2,) * len(opening))


def _image_ids(codes: np.ndarray | Sequence[int]) -> list[int]:
    codes = np.asarray(codes).reshape(-1)
    if codes.shape != (IMAGE_TOKENS,) or int(codes.min()) < 0 or int(codes.max()) >= 1024:
        raise ValueError(f"a face is {IMAGE_TOKENS} VQGAN codes in 0..1023, got shape {codes.shape}")
    return [IMAGE_OFFSET + int(c) for c in codes]


def text_ids(text: str, builder: SequenceBuilder) -> list[int]:
    """A to-image condition as training sees it: an attribute text keeps whole pairs within the budget, a caption is cut."""
    try:
        _, labels = parse_attributes(text)
    except TextProtocolError:
        labels = {}
    if labels:
        try:
            return [int(i) for i in builder.attribute_subset(text, random.Random(0))]
        except ValueError:
            pass
    return [int(i) for i in builder.tokenizer.encode(text)[: builder.text_budget]]


def image_prompt(text: str, builder: SequenceBuilder | None = None) -> Prompt:
    """Text-guided face synthesis (figure 3a): a caption, attributes or both -> 256 image ids."""
    builder = builder or default_builder()
    task = ATTRIBUTES_TO_FACE if _is_attributes(text) else CAPTION_TO_FACE
    return _prompt(task, text_ids(text, builder), builder)


def _is_attributes(text: str) -> bool:
    try:
        return bool(parse_attributes(text)[1])
    except TextProtocolError:
        return False


def caption_prompt(codes: np.ndarray | Sequence[int], builder: SequenceBuilder | None = None) -> Prompt:
    """Face captioning (figure 3b): 256 codes -> a caption."""
    builder = builder or default_builder()
    return _prompt(FACE_TO_CAPTION, _image_ids(codes), builder)


def question_text(question: str) -> tuple[str, str, str]:
    """``"cacd age:"`` -> (``"cacd age:"``, prefix ``"cacd"``, key ``"age"``); the colon may be left off."""
    body = " ".join(question.strip().rstrip(":").split()).lower()
    prefix, _, key = body.partition(" ")
    if not prefix or not key or ":" in key or ";" in key:
        raise ValueError(f"question {question!r} must be '<dataset prefix> <key>:', e.g. 'cacd age:' or 'celeba smiling:'")
    key = canonical(key)
    return f"{prefix} {key}:", prefix, key


def attributes_prompt(
    codes: np.ndarray | Sequence[int], question: str, builder: SequenceBuilder | None = None
) -> Prompt:
    """Facial analysis (figure 3c, 3d): 256 codes and ``cacd age:`` -> the value; the question opens the target."""
    builder = builder or default_builder()
    text, _, _ = question_text(question)
    return _prompt(FACE_TO_ATTRIBUTES, _image_ids(codes), builder, builder.tokenizer.encode(text))


def collate_prompts(prompts: Sequence[Prompt], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad prompts into (B, T) ids and segments, as `Talk2Face.prefill` takes them."""
    T = max(len(p.ids) for p in prompts)
    ids = torch.zeros(len(prompts), T, dtype=torch.long)
    segments = torch.zeros(len(prompts), T, dtype=torch.long)
    for row, p in enumerate(prompts):
        ids[row, : len(p.ids)] = torch.tensor(p.ids)
        segments[row, : len(p.segments)] = torch.tensor(p.segments)
    return ids.to(device), segments.to(device)


# -----------------------------------------------------------------------------
# Label vocabularies (for constrained answers), from the converters' constants


@lru_cache(maxsize=1)
def _label_spaces() -> dict[tuple[str, str], tuple[str, ...]]:
    spaces: dict[tuple[str, str], tuple[str, ...]] = {}
    sexes = ("male", "female")
    booleans = ("true", "false")
    for prefix in ("cacd", "afad", "imdb", "wiki"):
        spaces[(prefix, "age")] = AGE_VALUES
    for prefix in ("afad", "imdb", "wiki", "fairface", "celeba", "fs2k"):
        spaces[(prefix, "gender")] = sexes
    try:
        from converters import affectnet

        spaces[("affectnet", "expression")] = tuple(e.lower() for e in affectnet.EXPRESSIONS)
    except ImportError:
        pass
    try:
        from converters import fairface

        spaces[("fairface", "race")] = tuple(canonical(r) for r in fairface.RACES)
        spaces[("fairface", "age")] = tuple(fairface.AGES)
    except ImportError:
        pass
    try:
        from converters import celeba

        for name in celeba.ATTRIBUTES:
            if name != "Male":
                spaces[("celeba", canonical(name))] = booleans
    except ImportError:
        pass
    try:
        from converters import rafdb

        spaces[("rafdb", "expression")] = tuple(e.lower() for e in rafdb.EXPRESSIONS.values())
    except ImportError:
        pass
    try:
        from converters import expw

        spaces[("expw", "expression")] = tuple(expw.EXPRESSIONS)
    except ImportError:
        pass
    return spaces


def label_values(prefix: str, key: str) -> tuple[str, ...] | None:
    """The values dataset `prefix` uses for `key` as the text protocol writes them, or None if not known."""
    return _label_spaces().get((prefix, canonical(key)))


def choice_ids(values: Sequence[str], builder: SequenceBuilder | None = None) -> list[list[int]]:
    """The WordPiece ids of each value followed by ``;``, as an attribute text holds them."""
    builder = builder or default_builder()
    return [builder.tokenizer.encode(f"{v};") for v in values]


# -----------------------------------------------------------------------------
# Running a batch of prompts


def run_prompts(
    model: Talk2Face,
    prompts: Sequence[Prompt],
    *,
    max_new_tokens: int,
    constraint: Constraint | None,
    config: SamplingConfig,
    seeds: Sequence[int] | None,
    n: int = 1,
    decoding: DecodingFn = cached_decoding,
) -> torch.Tensor:
    """Sample `n` continuations of each prompt in one batch: (len(prompts) * n, max_new_tokens), prompt-major.

    The prompts are run once; their rows are repeated n times afterwards. `seeds` has one seed per
    output row (each row draws from its own generator), or None for greedy decoding.
    """
    device = next(model.parameters()).device
    ids, segments = collate_prompts(prompts, device)
    d = decoding(model, ids, segments, max_new_tokens)
    logits, state = d.logits, d.state
    if n > 1:
        rows = torch.arange(len(prompts), device=device).repeat_interleave(n)
        logits, state = logits[rows], d.select(state, rows)
    generators = [torch.Generator().manual_seed(s) for s in seeds] if seeds is not None else None
    return sample(d.step, logits, state, max_new_tokens=max_new_tokens, eos_id=SEP_ID, config=config,
                  generators=generators, constraint=constraint, select=d.select)


def _chunks(n_items: int, size: int) -> Iterator[range]:
    for start in range(0, n_items, max(size, 1)):
        yield range(start, min(start + max(size, 1), n_items))


def _seeds(config: SamplingConfig, seed: int, rows: Sequence[tuple[int, int]]) -> list[int] | None:
    return None if config.greedy else [row_seed(seed, i, j) for i, j in rows]


# -----------------------------------------------------------------------------
# The templates


@torch.no_grad()
def generate_image_codes(
    model: Talk2Face,
    texts: Sequence[str],
    *,
    n: int = 1,
    config: SamplingConfig = IMAGE_SAMPLING,
    seed: int = 0,
    batch_size: int = 16,
    builder: SequenceBuilder | None = None,
    decoding: DecodingFn = cached_image_decoding,
) -> np.ndarray:
    """Text-guided face synthesis: (len(texts), n, 256) uint16 VQGAN codes; sample j of text i uses seed (seed, i, j)."""
    builder = builder or default_builder()
    prompts = [image_prompt(t, builder) for t in texts]
    out = np.zeros((len(texts), n, IMAGE_TOKENS), dtype=np.uint16)
    for chunk in _chunks(len(texts), batch_size // n):
        rows = [(i, j) for i in chunk for j in range(n)]
        tokens = run_prompts(model, [prompts[i] for i in chunk], max_new_tokens=IMAGE_TOKENS + 1,
                             constraint=ImageConstraint(), config=config, seeds=_seeds(config, seed, rows),
                             n=n, decoding=decoding)
        codes = (tokens[:, :IMAGE_TOKENS] - IMAGE_OFFSET).numpy().astype(np.uint16)  # the constraint keeps them in range
        out[chunk.start : chunk.stop] = codes.reshape(len(chunk), n, IMAGE_TOKENS)
    return out


@torch.no_grad()
def generate_captions(
    model: Talk2Face,
    codes: np.ndarray,
    *,
    config: SamplingConfig = CAPTION_SAMPLING,
    seed: int = 0,
    batch_size: int = 16,
    builder: SequenceBuilder | None = None,
    decoding: DecodingFn = cached_decoding,
) -> list[str]:
    """Face captioning: (N, 256) codes -> N captions (at most the text budget in WordPiece ids)."""
    builder = builder or default_builder()
    codes = np.asarray(codes).reshape(-1, IMAGE_TOKENS)
    prompts = [caption_prompt(c, builder) for c in codes]
    captions: list[str] = []
    for chunk in _chunks(len(prompts), batch_size):
        tokens = run_prompts(model, [prompts[i] for i in chunk], max_new_tokens=builder.text_budget + 1,
                             constraint=TextConstraint(max_length=builder.text_budget, min_length=1), config=config,
                             seeds=_seeds(config, seed, [(i, 0) for i in chunk]), decoding=decoding)
        captions.extend(normalize_caption(builder.tokenizer.decode(ids)) for ids in trim(tokens))
    return captions


@dataclass(frozen=True)
class Answer:
    """A facial-analysis answer: the text the model completed and the typed value read back (None = invalid)."""

    question: str  # "cacd age:"
    text: str  # "cacd age : 25 ;"
    value: LabelValue | None  # 25; None when the answer is not a value of the expected type / candidates

    @property
    def valid(self) -> bool:
        """Whether the answer parsed into a value of the expected type."""
        return self.value is not None


_PUNCT_SPACE = re.compile(r"\s*([^\w\s])\s*")


def tighten(value: str) -> str:
    """Undo WordPiece's spacing around punctuation inside a value: ``"20 - 29"`` -> ``"20-29"``."""
    return _PUNCT_SPACE.sub(r"\1", value).strip()


def read_answer(question: str, completion: str, values: Sequence[str] | None = None) -> Answer:
    """Read a completion back into a typed label with the text protocol; ages must be integers, others a candidate.

    ``read_answer("cacd age:", "25 ;")`` -> Answer(value=25); ``"twenty ;"`` -> value None (counted wrong).
    """
    text, prefix, key = question_text(question)
    full = f"{text} {completion}".strip()
    value: LabelValue | None
    try:
        _, labels = parse_attributes(full)
        value = labels.get(key)
    except TextProtocolError:
        value = None
    if isinstance(value, str):
        value = tighten(value)
    space = values if values is not None else label_values(prefix, key)
    if value is not None:
        if space is AGE_VALUES:  # an age: any integer counts, anything else is wrong (paper 3.3)
            value = value if isinstance(value, int) and not isinstance(value, bool) else None
        elif values is not None:
            spelled = "true" if value is True else "false" if value is False else str(value)
            value = value if spelled in {tighten(v) for v in values} else None
    return Answer(text, full, value)


@torch.no_grad()
def answer_questions(
    model: Talk2Face,
    codes: np.ndarray,
    questions: Sequence[str],
    *,
    constrain: bool = True,
    choices: Sequence[Sequence[str] | None] | None = None,
    config: SamplingConfig = ANSWER_SAMPLING,
    seed: int = 0,
    batch_size: int = 16,
    builder: SequenceBuilder | None = None,
    decoding: DecodingFn = cached_decoding,
) -> list[Answer]:
    """Facial analysis: face i (codes[i]) is asked questions[i] (``cacd age:``); one Answer per row.

    With `constrain`, a row whose label vocabulary is known (`label_values`, or `choices[i]` when
    given) may only answer one of those values followed by ``;``; other rows answer in free text
    (text ids only, at most FREE_ANSWER_TOKENS of them).
    """
    builder = builder or default_builder()
    codes = np.asarray(codes).reshape(-1, IMAGE_TOKENS)
    if len(codes) != len(questions):
        raise ValueError(f"{len(codes)} faces but {len(questions)} questions; give one question per face row")
    values: list[Sequence[str] | None] = []
    for i, q in enumerate(questions):
        _, prefix, key = question_text(q)
        values.append(choices[i] if choices is not None else label_values(prefix, key))
    prompts = [attributes_prompt(c, q, builder) for c, q in zip(codes, questions)]
    answers: list[Answer | None] = [None] * len(prompts)
    constrained = [i for i in range(len(prompts)) if constrain and values[i] is not None]
    free = [i for i in range(len(prompts)) if not (constrain and values[i] is not None)]
    for group, limited in ((constrained, True), (free, False)):
        for chunk in _chunks(len(group), batch_size):
            rows = [group[k] for k in chunk]
            constraint: Constraint
            if limited:
                options = [choice_ids(values[i] or (), builder) for i in rows]
                constraint, longest = ChoiceConstraint(options), max(len(c) for o in options for c in o) + 1
            else:
                constraint, longest = TextConstraint(max_length=FREE_ANSWER_TOKENS), FREE_ANSWER_TOKENS + 1
            tokens = run_prompts(model, [prompts[i] for i in rows], max_new_tokens=longest, constraint=constraint,
                                 config=config, seeds=_seeds(config, seed, [(i, 0) for i in rows]), decoding=decoding)
            for i, ids in zip(rows, trim(tokens)):
                answers[i] = read_answer(questions[i], builder.tokenizer.decode(ids), values[i])
    return [a for a in answers if a is not None]


# -----------------------------------------------------------------------------
# Images in and out, CLIP re-ranking


def load_faces(paths: Sequence[str | Path]) -> np.ndarray:
    """Face images -> (N, 256, 256, 3) uint8 with the pipeline's preprocessing (model.faces.load_face)."""
    from model.faces import load_face

    return np.stack([load_face(str(p)) for p in paths])


def save_pngs(images: np.ndarray, paths: Sequence[str | Path]) -> None:
    """Write (N, H, W, 3) uint8 images as PNG files."""
    from PIL import Image

    for image, path in zip(images, paths):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(path, format="PNG")


class ClipUnavailable(RuntimeError):
    """CLIP re-ranking was asked for but open_clip is not installed."""


def clip_scores(
    images: np.ndarray, text: str, checkpoint: str | Path, model_name: str = "ViT-B-32", device: str = "cpu"
) -> np.ndarray:
    """Cosine similarity of each (N, H, W, 3) uint8 image to `text` under a local open_clip checkpoint.

    Nothing is downloaded: `checkpoint` is a file the user supplies. Raises ClipUnavailable if
    open_clip is not installed (``pip install open_clip_torch``).
    """
    try:
        import open_clip
    except ImportError as err:
        raise ClipUnavailable("CLIP re-ranking needs open_clip (pip install open_clip_torch)") from err
    from PIL import Image

    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f"CLIP checkpoint {checkpoint} not found; pass a local open_clip .pt/.bin file")
    clip, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=str(checkpoint), device=device)
    tokenizer = open_clip.get_tokenizer(model_name)
    clip.eval()
    with torch.no_grad():
        pixels = torch.stack([preprocess(Image.fromarray(im)) for im in images]).to(device)
        image_features = torch.nn.functional.normalize(clip.encode_image(pixels).float(), dim=-1)
        text_features = torch.nn.functional.normalize(clip.encode_text(tokenizer([text]).to(device)).float(), dim=-1)
        return (image_features @ text_features.T).squeeze(1).cpu().numpy()


def rerank_by_clip(
    images: np.ndarray, text: str, checkpoint: str | Path | None, keep: int, model_name: str = "ViT-B-32",
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray | None]:
    """The `keep` images closest to `text` by CLIP score (best first) and their scores.

    Without a checkpoint, or without open_clip (a warning says so), the first `keep` images in
    sampling order come back with no scores.
    """
    if checkpoint is None:
        return images[:keep], None
    try:
        scores = clip_scores(images, text, checkpoint, model_name, device)
    except ClipUnavailable as err:
        warnings.warn(f"{err}; keeping the first {keep} samples unranked", stacklevel=2)
        return images[:keep], None
    order = np.argsort(-scores, kind="stable")[:keep]
    return images[order], scores[order]


# -----------------------------------------------------------------------------
# The demo (make demo) and the command line


def demo_templates(
    checkpoint: str | Path | Talk2Face,
    vqgan: Any,
    out_dir: str | Path,
    text: str = "This man has black hair. smiling : true ;",
    questions: Sequence[str] = ("celeba smiling:", "cacd age:", "affectnet expression:", "fairface race:"),
    seed: int = 0,
) -> dict[str, Any]:
    """Run every template once: text -> face (face.png), that face -> caption (caption.txt) and labels (labels.json).

    `vqgan` is an ImageTokenizer or a preset name (``"tiny-random"``). Returns what was written.
    """
    model = checkpoint if isinstance(checkpoint, Talk2Face) else load_talk2face(checkpoint)
    model.eval()
    tokenizer = load_image_tokenizer(preset=vqgan) if isinstance(vqgan, str) else vqgan
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    codes = generate_image_codes(model, [text], n=1, seed=seed)[0]  # (1, 256)
    image = np.asarray(tokenizer.decode(codes), dtype=np.uint8)  # (1, 256, 256, 3)
    save_pngs(image, [out / "face.png"])
    face_codes = np.asarray(tokenizer.encode(image), dtype=np.uint16)  # the face as a user image would arrive
    caption = generate_captions(model, face_codes)[0]
    (out / "caption.txt").write_text(caption + "\n", encoding="utf-8")
    answers = answer_questions(model, np.repeat(face_codes, len(questions), axis=0), list(questions))
    labels = {a.question: {"text": a.text, "value": a.value} for a in answers}
    (out / "labels.json").write_text(json.dumps(labels, indent=2) + "\n", encoding="utf-8")
    return {"text": text, "image": str(out / "face.png"), "caption": caption, "labels": labels}


def _sampling_from_args(args: argparse.Namespace, default: SamplingConfig) -> SamplingConfig:
    return SamplingConfig(
        temperature=default.temperature if args.temperature is None else args.temperature,
        top_k=default.top_k if args.top_k is None else args.top_k,
        top_p=default.top_p if args.top_p is None else args.top_p,
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``talk2face generate`` argument parser."""
    p = argparse.ArgumentParser(prog="talk2face generate", description="Run a Talk2Face inference template (paper figure 3).")
    p.add_argument("--checkpoint", required=True, help="our checkpoint.pt or the released talk2face.bin")
    p.add_argument("--heads", type=int, default=12, help="attention heads of a talk2face.bin (not stored in it)")
    p.add_argument("--to", required=True, choices=("image", "caption", "attributes"), help="the template")
    p.add_argument("--text", action="append", default=[], help="to image: caption and/or attributes (repeatable)")
    p.add_argument("--image", action="append", default=[], help="to caption / attributes: a face image (repeatable)")
    p.add_argument("--prompt", action="append", default=[], help="to attributes: '<dataset> <key>:', e.g. 'cacd age:' (repeatable)")
    p.add_argument("--free", action="store_true", help="to attributes: do not limit answers to the dataset's label values")
    p.add_argument("--n", type=int, default=1, help="to image: samples per text (kept after CLIP re-ranking: --keep)")
    p.add_argument("--keep", type=int, default=None, help="to image: keep the best KEEP of --n by CLIP score (default: all)")
    p.add_argument("--clip-checkpoint", help="a local open_clip checkpoint for re-ranking image samples (optional)")
    p.add_argument("--clip-model", default="ViT-B-32", help="open_clip architecture of --clip-checkpoint")
    p.add_argument("--out", default="generated", help="to image: folder for the PNG files")
    p.add_argument("--vqgan-preset", help="VQGAN preset of model/image_tokenizer.py (e.g. tiny-random)")
    p.add_argument("--vqgan-config", help="taming-transformers VQGAN config (YAML)")
    p.add_argument("--vqgan-checkpoint", help="taming-transformers VQGAN checkpoint")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy (default: 1.0 for images, greedy for text)")
    p.add_argument("--top-k", type=int, default=None, help="top-k filtering (default: 100 for images, off for text)")
    p.add_argument("--top-p", type=float, default=None, help="nucleus filtering (default: 0.95 for images, off for text)")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-sample random generators")
    p.add_argument("--batch-size", type=int, default=16, help="rows sampled together")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--json", action="store_true", help="print results as JSON lines")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``talk2face generate``: text -> face PNGs, face -> caption, face -> attribute value."""
    parser = build_parser()
    args = parser.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    if args.to == "image" and not args.text:
        parser.error("--to image needs --text (a caption, attributes or both)")
    if args.to in ("caption", "attributes") and not args.image:
        parser.error(f"--to {args.to} needs --image FACE (repeatable)")
    if args.to == "attributes" and not args.prompt:
        parser.error("--to attributes needs --prompt, e.g. --prompt 'cacd age:' or --prompt 'affectnet expression:'")
    if args.n < 1 or (args.keep is not None and not 1 <= args.keep <= args.n):
        parser.error("--n must be >= 1 and --keep between 1 and --n")
    try:
        model = load_talk2face(args.checkpoint, heads=args.heads).to(device)
        vqgan = load_image_tokenizer(args.vqgan_preset, args.vqgan_config, args.vqgan_checkpoint, device=str(device))
        if args.to == "attributes":
            for q in args.prompt:
                question_text(q)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        parser.error(str(err))
    emit: Callable[[dict[str, Any], str], None] = (
        (lambda record, line: print(json.dumps(record))) if args.json else (lambda record, line: print(line))
    )
    if args.to == "image":
        config = _sampling_from_args(args, IMAGE_SAMPLING)
        codes = generate_image_codes(model, args.text, n=args.n, config=config, seed=args.seed, batch_size=args.batch_size)
        keep = args.keep or args.n
        for i, text in enumerate(args.text):
            images = np.asarray(vqgan.decode(codes[i]), dtype=np.uint8)
            images, scores = rerank_by_clip(images, text, args.clip_checkpoint, keep, args.clip_model, str(device))
            paths = [Path(args.out) / f"text{i:03d}_sample{j:02d}.png" for j in range(len(images))]
            save_pngs(images, paths)
            for j, path in enumerate(paths):
                score = None if scores is None else float(scores[j])
                emit({"text": text, "png": str(path), "clip_score": score}, f"{path}\t{text}")
        return 0
    faces = load_faces(args.image)
    codes = np.asarray(vqgan.encode(faces), dtype=np.uint16)
    if args.to == "caption":
        config = _sampling_from_args(args, CAPTION_SAMPLING)
        for path, caption in zip(args.image, generate_captions(model, codes, config=config, seed=args.seed,
                                                               batch_size=args.batch_size)):
            emit({"image": path, "caption": caption}, f"{path}\t{caption}")
        return 0
    config = _sampling_from_args(args, ANSWER_SAMPLING)
    rows = [(i, q) for i in range(len(args.image)) for q in args.prompt]
    answers = answer_questions(model, codes[[i for i, _ in rows]], [q for _, q in rows], constrain=not args.free,
                               config=config, seed=args.seed, batch_size=args.batch_size)
    for (i, _), answer in zip(rows, answers):
        shown = answer.value if answer.valid else "(invalid answer)"
        emit({"image": args.image[i], "question": answer.question, "text": answer.text, "value": answer.value},
             f"{args.image[i]}\t{answer.text}\t{shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "Answer",
    "Decoding",
    "Prompt",
    "answer_questions",
    "attributes_prompt",
    "cached_decoding",
    "caption_prompt",
    "choice_ids",
    "collate_prompts",
    "demo_templates",
    "generate_captions",
    "generate_image_codes",
    "image_prompt",
    "label_values",
    "load_faces",
    "load_image_tokenizer",
    "load_talk2face",
    "main",
    "read_answer",
    "recompute_decoding",
    "rerank_by_clip",
]
