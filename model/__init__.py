"""The model side of Talk2Face: it never sees a raw dataset, only shards and user images.

Tokenizers (BERT WordPiece for text, the taming-transformers FFHQ VQGAN for faces, and the
unified 31,546-token vocabulary that joins them), the face preprocessing those tokenizers expect,
the prefix-LM transformer, the trainer that reads WebDataset shards, and the inference templates.
Names are imported lazily so that `import model` stays cheap on pipeline workers that only need
one tokenizer.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # tokenizers and vocabulary
    "ImageTokenizer": "model.image_tokenizer",
    "TextTokenizer": "model.text_tokenizer",
    "Vocabulary": "model.vocab",
    # face preprocessing shared by the pipeline and inference
    "load_face": "model.faces",
    "FaceError": "model.faces",
    # transformer, trainer
    "Talk2Face": "model.transformer",
    "Talk2FaceConfig": "model.transformer",
    "TrainConfig": "model.trainer",
    "train": "model.trainer",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'model' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = sorted(_EXPORTS)
