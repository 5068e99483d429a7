"""The model side of Talk2Face: it never sees a raw dataset, only shards and user images.

The nanoGPT core sits at the top: the prefix-LM transformer (`transformer`), the pure sampler
(`sampling`) and checkpoints (`checkpoint`). The rest is one subpackage per role: `tokenizers`
(WordPiece text, the VQGAN image tokenizer, the unified vocabulary, face preprocessing),
`train` (shard selection, task sequences, the resumable loader, the trainer), `infer` (prompts,
decoding, the paper's templates, CLIP re-ranking, ``talk2face generate``) and `evaluate` (metrics,
Inception features, the paper's benchmarks, ``talk2face evaluate``); `testing` writes fixtures.
`model` never imports `pipeline` or Beam. Names are imported lazily so that `import model` stays
cheap on pipeline workers that only need one tokenizer.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # tokenizers and vocabulary
    "ImageTokenizer": "model.tokenizers.vqgan",
    "TextTokenizer": "model.tokenizers.text",
    "Vocabulary": "model.tokenizers.vocab",
    "load_image_tokenizer": "model.tokenizers",
    # face preprocessing shared by the pipeline and inference
    "load_face": "model.tokenizers.faces",
    "FaceError": "model.tokenizers.faces",
    # transformer, trainer
    "Talk2Face": "model.transformer",
    "Talk2FaceConfig": "model.transformer",
    "TrainConfig": "model.train.trainer",
    "train": "model.train.trainer",
    "load_talk2face": "model.checkpoint",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'model' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = sorted(_EXPORTS)
