"""Text -> face, checked in pixels: generate faces for prompts that ask for a hair colour and a smile, decode
them with the image tokenizer, and read the features back from the pixels (`converters.fakes.signal.read_back`).

Meaningful only for corpora drawn by the signal painter (``fake-root --signal``), whose faces follow fixed
drawing rules that `read_back` knows. `oracle_agreement` measures the ceiling: how often the read-back of
held-out faces' *own* codes, decoded, agrees with their labels (the tokenizer loses detail: a palette patch
is 16x16 pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.infer.templates import IMAGE_SAMPLING, generate_image_codes
from model.sampling import SamplingConfig
from model.transformer import Talk2Face

HAIRS = ("black", "brown", "blond", "gray", "red")


@dataclass(frozen=True)
class FacePrompt:
    """A prompt and the features the face generated for it must show."""

    text: str
    hair_color: str
    smiling: bool


def face_prompts(per_cell: int = 1) -> list[FacePrompt]:
    """Every hair colour x smiling / not, in the caption datasets' phrasing (`per_cell` phrasings each)."""
    styles = ("The woman has long {hair} hair, and she {mood}.", "The man has short {hair} hair, and he {mood}.",
              "This woman has shoulder-length {hair} hair, and she {mood}.")
    out = []
    for hair in HAIRS:
        for smiling in (True, False):
            for k in range(per_cell):
                mood = ("is smiling", "smiles broadly", "has a big smile")[k % 3] if smiling else \
                    ("looks calm", "has a neutral expression", "keeps her mouth closed")[k % 3]
                out.append(FacePrompt(styles[k % len(styles)].format(hair=hair, mood=mood), hair, smiling))
    return out


def _read(images: np.ndarray) -> list[dict[str, Any]]:
    from converters.fakes.signal import read_back

    return [read_back(image) for image in images]


def check_faces(images: np.ndarray, prompts: Sequence[FacePrompt]) -> dict[str, Any]:
    """Fractions of decoded faces (N, 256, 256, 3) that show each prompt's hair colour, smile, and both."""
    seen = _read(images)
    hair = [s["hair_color"] == p.hair_color for s, p in zip(seen, prompts)]
    smile = [bool(s["smiling"]) == p.smiling for s, p in zip(seen, prompts)]
    both = [h and m for h, m in zip(hair, smile)]
    return {"n": len(prompts), "hair_and_smile": float(np.mean(both)), "hair": float(np.mean(hair)),
            "smile": float(np.mean(smile)), "found": float(np.mean([bool(s["found"]) for s in seen])),
            "chance_hair_and_smile": 1 / (2 * len(HAIRS)),
            "read_back": [{"hair_color": s["hair_color"], "smiling": bool(s["smiling"])} for s in seen]}


def text_to_face(model: Talk2Face, tokenizer: Any, prompts: Sequence[FacePrompt], *,
                 config: SamplingConfig = IMAGE_SAMPLING, seed: int = 0, batch_size: int = 16) -> tuple[dict[str, Any], np.ndarray]:
    """Generate one face per prompt, decode it, read it back: (scores, the decoded faces)."""
    if getattr(tokenizer, "num_tokens", 256) != 256:
        raise ValueError(f"the image tokenizer makes {tokenizer.num_tokens} codes per face; the model draws 256")
    codes = generate_image_codes(model, [p.text for p in prompts], n=1, config=config, seed=seed,
                                 batch_size=batch_size)[:, 0]
    images = np.asarray(tokenizer.decode(codes.astype(np.int64)), dtype=np.uint8)
    return check_faces(images, prompts), images


def oracle_agreement(codes: np.ndarray, labels: Sequence[dict[str, Any]], tokenizer: Any) -> dict[str, float]:
    """How often the read-back of faces decoded from their own codes matches ``hair_color``/``smiling`` labels."""
    seen = _read(np.asarray(tokenizer.decode(np.asarray(codes).astype(np.int64)), dtype=np.uint8))
    hair = [s["hair_color"] == y["hair_color"] for s, y in zip(seen, labels)]
    smile = [bool(s["smiling"]) == bool(y["smiling"]) for s, y in zip(seen, labels)]
    return {"n": float(len(seen)), "hair_and_smile": float(np.mean([h and m for h, m in zip(hair, smile)])),
            "hair": float(np.mean(hair)), "smile": float(np.mean(smile))}
