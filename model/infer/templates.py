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
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

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
from schemas.text import LabelValue, TextProtocolError, normalize_caption, parse_attributes
from schemas.vocab import IMAGE_OFFSET, IMAGE_TOKENS

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


def _chunks(n_items: int, size: int) -> Iterator[range]:
    for start in range(0, n_items, max(size, 1)):
        yield range(start, min(start + max(size, 1), n_items))


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
    "generate_captions",
    "generate_image_codes",
    "label_values",
    "read_answer",
    "tighten",
]
