"""A corpus built with the f=8 Gumbel VQGAN (Table 5's ablation), trained a few steps and run through the templates.

The real pipeline (DirectRunner) builds CelebA and CelebA-Dialog fakes with the `tiny-gumbel-f8-random`
preset: 1,024 codes per face from 8,192. Every sample and stats.json record that tokenizer; the
trainer sizes the model from it (30,522 + 8,192 ids, positions for 1,024 image tokens + text), and
generation writes 1,024 codes that the same tokenizer decodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from converters.fakes import make_all
from model.checkpoint import load_checkpoint, load_talk2face
from model.infer.templates import generate_captions, generate_image_codes
from model.tokenizers import load_image_tokenizer
from model.train.shards import read_shards, resolve_shards
from model.train.trainer import main as train_main
from pipeline import BuildConfig, TokenizerSpec, resolve_datasets, run_build
from schemas.stats import STATS_FILE, parse_stats, stats_tokenizer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def one_thread() -> object:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_gumbel_f8_build_trains_and_generates(tmp_path: Path) -> None:
    root, out = tmp_path / "raw", tmp_path / "out"
    make_all(root, only=("celeba", "celeba_dialog"))
    specs, skipped = resolve_datasets(str(root), ["celeba", "celeba_dialog"])
    run_build(BuildConfig(datasets=specs, output=str(out), tokenizer=TokenizerSpec(preset="tiny-gumbel-f8-random"),
                          cache=str(tmp_path / "cache"), skipped=skipped, samples_per_shard=4, progress_every=1000),
              PipelineOptions([]))
    tokenizer = load_image_tokenizer("tiny-gumbel-f8-random", device="cpu")
    samples = list(read_shards(resolve_shards(str(out / "shards"), "train")))
    assert samples
    for s in samples:
        assert s.tokens.shape == (1024,) and s.tokenizer is not None
        assert (s.tokenizer.fingerprint, s.tokenizer.kind, s.tokenizer.codebook_size, s.tokenizer.grid_side) == (
            tokenizer.fingerprint, "gumbel-vqgan", 8192, 32)
    assert max(int(s.tokens.max()) for s in samples) > 1023  # codes a 1,024-code book could not hold
    recorded = stats_tokenizer(parse_stats((out / STATS_FILE).read_bytes()))
    assert recorded == samples[0].tokenizer

    workdir = tmp_path / "run"
    assert train_main(["--shards", str(out / "shards"), "--config", "tiny", "--workdir", str(workdir),
                       "--set", "max_steps=2", "--set", "batch_size=4", "--set", "eval_every=0",
                       "--set", "log_every=1"]) == 0
    ckpt = load_checkpoint(workdir / "checkpoint.pt")
    assert ckpt["model_config"]["vocab_size"] == 30522 + 8192 and ckpt["model_config"]["image_tokens"] == 1024
    assert ckpt["model_config"]["n_positions"] >= 1024 + 64 + 7
    assert ckpt["corpus"]["tokenizer"]["fingerprint"] == tokenizer.fingerprint
    assert ckpt["corpus"]["layout"] == {"codebook_size": 8192, "tokens_per_image": 1024}

    model = load_talk2face(workdir / "checkpoint.pt")
    codes = generate_image_codes(model, ["The woman has blond hair."], n=1, seed=0)
    assert codes.shape == (1, 1, 1024) and codes.dtype == np.uint16 and int(codes.max()) < 8192
    faces = tokenizer.decode(codes[:, 0])
    assert faces.shape == (1, 256, 256, 3)
    captions = generate_captions(model, np.stack([samples[0].tokens]), batch_size=1)
    assert len(captions) == 1 and isinstance(captions[0], str)
