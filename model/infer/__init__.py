"""Inference: the paper's templates (figure 3) run with the pure sampler of model/sampling.py.

`prompts` lays a prompt out as training lays out the same task's sequence, `decoding` gives the
sampler its logits function (KV cache or recompute) and runs a batch of prompts, `templates` turns
texts into face codes, faces into captions and questions into typed answers (constrained to the
label values the converters declare), `clip` re-ranks sampled faces, and `cli` is ``talk2face generate``.
"""
