"""The paper's inference templates (figure 3): text -> face codes, face -> caption, face -> typed answer.

Each template lays its prompt out (model/infer/prompts.py) exactly as model/train/sequences.py lays
out the training sequence of the same task (DESIGN.md 3.6), leaves the target for the model, and reads the answer back::

    text -> face       [CLS] to image [SEP] <text> [SEP]            | 256 image ids [SEP]   -> VQGAN decode -> PNG
    face -> caption    [CLS] to caption [SEP] <256 image ids> [SEP] | caption [SEP]
    face -> attribute  [CLS] to attributes [SEP] <256 image ids> [SEP] | cacd age: 25; [SEP] -> {"age": 25}

Left of ``|`` is the prompt (segment 1; for attributes the question ``cacd age:`` opens segment 2),
right of it what the sampler (model/sampling.py) generates with the model's KV cache. Image
positions may only emit image ids and text positions only text ids; an attribute answer may be
limited to the label values its dataset uses (declared by its converter), so it always parses.
A face is 256 image ids at f=16; a model trained on an f=8 corpus reads and writes 1,024 of its
8,192 codes, as its config's `layout` says (recorded in its checkpoint).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import converters
from model.infer.decoding import DecodingFn, cached_decoding, cached_image_decoding, run_prompts
from model.infer.prompts import (
    attributes_prompt,
    caption_prompt,
    choice_ids,
    default_builder,
    image_prompt,
    question_text,
)
from model.sampling import (
    ChoiceConstraint,
    Constraint,
    ImageConstraint,
    SamplingConfig,
    TextConstraint,
    row_seed,
    trim,
)
from model.train.sequences import SequenceBuilder
from model.transformer import Talk2Face
from schemas.progress import track
from schemas.text import LabelValue, TextProtocolError, normalize_caption, parse_attributes

IMAGE_SAMPLING = SamplingConfig(temperature=1.0, top_k=100, top_p=0.95)  # open-ended: top-k/top-p (paper 3.3)
CAPTION_SAMPLING = SamplingConfig.make_greedy()
ANSWER_SAMPLING = SamplingConfig.make_greedy()  # multiple choice: greedy (paper 3.3)
AGE_VALUES = tuple(str(n) for n in range(101))  # what an integer key (age) may be answered with, 0..100
FREE_ANSWER_TOKENS = 16  # longest unconstrained answer, in WordPiece ids, before [SEP]


def label_values(prefix: str, key: str) -> tuple[str, ...] | None:
    """The answers a question about `key` of dataset `prefix` is limited to, or None if not known.

    AGE_VALUES for a key the dataset's converter declares as integer, else the values it declares
    (`Converter.label_values`, read through the converter registry).
    """
    if converters.integer_key(prefix, key):
        return AGE_VALUES
    return converters.label_values(prefix, key)


def check_declared(questions: Sequence[str], free: bool = False) -> list[str]:
    """Warnings for the questions whose answers no converter declares; ValueError instead unless `free`.

    ``generate`` calls it so that an undeclared dataset or key (a typo, a plug-in not installed) is
    said, not answered freely in silence.
    """
    missing = []
    for q in questions:
        text, prefix, key = question_text(q)
        if label_values(prefix, key) is None:
            missing.append(text)
    if not missing:
        return []
    what = ", ".join(repr(q) for q in missing)
    if not free:
        raise ValueError(
            f"no installed converter declares the answers to {what} (Converter.label_values / integer_keys); "
            "check the dataset and key (python -m converters list), install the converter's package, "
            "or pass --free to decode freely"
        )
    return [f"warning: no installed converter declares the answers to {q!r}; decoding it freely" for q in missing]


def check_image_tokenizer(model: Talk2Face, tokenizer: Any) -> None:
    """Raise ValueError unless the image tokenizer makes the faces the model reads and writes (codes per face, codebook)."""
    layout = model.config.layout
    n, book = int(tokenizer.num_tokens), int(tokenizer.codebook_size)
    if (n, book) != (layout.tokens_per_image, layout.codebook_size):
        raise ValueError(f"the image tokenizer makes {n} codes of {book} per face, but the model was trained on "
                         f"{layout.tokens_per_image} codes of {layout.codebook_size} (its checkpoint's layout): pass "
                         "the VQGAN its corpus was built with (--vqgan-config/--vqgan-checkpoint or --vqgan-preset)")


def _chunks(n_items: int, size: int) -> Iterator[range]:
    for start in range(0, n_items, max(size, 1)):
        yield range(start, min(start + max(size, 1), n_items))


def _batches(n_items: int, size: int, progress: str | None) -> Iterator[range]:
    """The chunks of `_chunks`, shown as progress (schemas.progress.track) labelled `progress` when given."""
    chunks = list(_chunks(n_items, size))
    return track(chunks, desc=progress, unit="batch") if progress else iter(chunks)


def _seeds(config: SamplingConfig, seed: int, rows: Sequence[tuple[int, int]]) -> list[int] | None:
    return None if config.greedy else [row_seed(seed, i, j) for i, j in rows]


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
    progress: str | None = None,
) -> np.ndarray:
    """Text-guided face synthesis: (len(texts), n, N) uint16 VQGAN codes, N per face in the model's layout (256 at
    f=16, 1,024 at f=8); sample j of text i uses seed (seed, i, j). `progress`: label of a progress bar over batches."""
    builder = builder or default_builder()
    layout = model.config.layout
    N = layout.tokens_per_image
    prompts = [image_prompt(t, builder) for t in texts]
    out = np.zeros((len(texts), n, N), dtype=np.uint16)
    constraint = ImageConstraint(length=N, offset=layout.image_offset, codes=layout.codebook_size)
    for chunk in _batches(len(texts), batch_size // n, progress):
        rows = [(i, j) for i in chunk for j in range(n)]
        tokens = run_prompts(model, [prompts[i] for i in chunk], max_new_tokens=N + 1,
                             constraint=constraint, config=config, seeds=_seeds(config, seed, rows),
                             n=n, decoding=decoding)
        codes = (tokens[:, :N] - layout.image_offset).numpy().astype(np.uint16)  # the constraint keeps them in range
        out[chunk.start : chunk.stop] = codes.reshape(len(chunk), n, N)
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
    progress: str | None = None,
) -> list[str]:
    """Face captioning: (N, codes per face) codes -> N captions (at most the text budget in WordPiece ids).

    `progress`: label of a progress bar (plain lines off a terminal) over the batches; None = quiet.
    """
    builder = builder or default_builder()
    layout = model.config.layout
    codes = np.asarray(codes).reshape(-1, layout.tokens_per_image)
    prompts = [caption_prompt(c, builder, layout) for c in codes]
    captions: list[str] = []
    for chunk in _batches(len(prompts), batch_size, progress):
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
    integer = converters.integer_key(prefix, key) and (values is None or tuple(values) == AGE_VALUES)
    if value is not None:
        if integer:  # an age: any integer counts, anything else is wrong (paper 3.3)
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
    progress: str | None = None,
) -> list[Answer]:
    """Facial analysis: face i (codes[i]) is asked questions[i] (``cacd age:``); one Answer per row.

    With `constrain`, a row whose label vocabulary is known (`label_values`, or `choices[i]` when
    given) may only answer one of those values followed by ``;``; other rows answer in free text
    (text ids only, at most FREE_ANSWER_TOKENS of them). `progress`: label of a progress bar over the batches.
    """
    builder = builder or default_builder()
    layout = model.config.layout
    codes = np.asarray(codes).reshape(-1, layout.tokens_per_image)
    if len(codes) != len(questions):
        raise ValueError(f"{len(codes)} faces but {len(questions)} questions; give one question per face row")
    values: list[Sequence[str] | None] = []
    for i, q in enumerate(questions):
        _, prefix, key = question_text(q)
        values.append(choices[i] if choices is not None else label_values(prefix, key))
    prompts = [attributes_prompt(c, q, builder, layout) for c, q in zip(codes, questions)]
    answers: list[Answer | None] = [None] * len(prompts)
    constrained = [i for i in range(len(prompts)) if constrain and values[i] is not None]
    free = [i for i in range(len(prompts)) if not (constrain and values[i] is not None)]
    batches = [([group[k] for k in chunk], limited) for group, limited in ((constrained, True), (free, False))
               for chunk in _chunks(len(group), batch_size)]
    for rows, limited in track(batches, desc=progress, unit="batch") if progress else batches:
        constraint: Constraint
        if limited:
            options = [choice_ids(values[i] or (), builder) for i in rows]
            constraint, longest = ChoiceConstraint(options), max(len(c) for o in options for c in o) + 1
        else:
            constraint, longest = TextConstraint(max_length=FREE_ANSWER_TOKENS), FREE_ANSWER_TOKENS + 1
        tokens = run_prompts(model, [prompts[i] for i in rows], max_new_tokens=longest, constraint=constraint,
                             config=config, seeds=_seeds(config, seed, [(i, 0) for i in rows]), decoding=decoding)
        for i, ids in zip(rows, trim(tokens)):
            text = builder.tokenizer.decode(ids)
            if builder.digits:  # "2 5" -> "25": single-digit tokens decode apart
                text = re.sub(r"(?<=\d) (?=\d)", "", text)
            answers[i] = read_answer(questions[i], text, values[i])
    return [a for a in answers if a is not None]


__all__ = [
    "AGE_VALUES",
    "ANSWER_SAMPLING",
    "CAPTION_SAMPLING",
    "IMAGE_SAMPLING",
    "Answer",
    "answer_questions",
    "check_declared",
    "check_image_tokenizer",
    "generate_captions",
    "generate_image_codes",
    "label_values",
    "read_answer",
    "tighten",
]
