"""Tests of the trainer: overfitting through the whole chain, exact resume, safe checkpoints, config and CLI."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
import torch

from model.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from model.testing import write_fake_shards
from model.train.sequences import SequenceBuilder
from model.train.shards import read_shard
from model.train.trainer import TrainConfig, configure_optimizer, get_lr, load_config, main, set_option, train
from model.transformer import Talk2Face, Talk2FaceConfig
from schemas.vocab import CLS_ID, IMAGE_OFFSET, SEP_ID

pytestmark = pytest.mark.usefixtures("one_thread")

MICRO = Talk2FaceConfig(n_layer=1, n_head=2, n_embd=32, n_inner=128, n_positions=336, dropout=0.0, layer_norm="torch",
                        tie_weights=True)


def config_for(shards: str, **options: object) -> TrainConfig:
    config = TrainConfig(model=MICRO, train_shards=shards, batch_size=4, num_workers=0, shuffle_buffer=4,
                         log_every=1, eval_every=0, checkpoint_every=1000, warmup_steps=0)
    for key, value in options.items():
        set_option(config, key, value)
    return config


def greedy(model: Talk2Face, ids: list[int], segments: list[int], limit: int) -> list[int]:
    """Greedy decoding with the KV cache until [SEP] (which is not returned) or `limit` tokens."""
    logits, cache = model.prefill(torch.tensor([ids]), torch.tensor([segments]), max_new_tokens=limit)
    out: list[int] = []
    for _ in range(limit):
        token = logits.argmax(-1)
        if int(token) == SEP_ID:
            break
        out.append(int(token))
        logits, cache = model.step(token, cache)
    return out


def test_overfits_a_handful_of_pairs_until_greedy_decoding_reproduces_them(tmp_path: Path) -> None:
    """Shards -> sequences -> trainer -> checkpoint -> KV-cache greedy decoding -> the texts back.

    Two faces, trained on the text-target tasks (an image target costs 257 rows of the 31,546-way
    output layer per sequence, too slow for a unit test on a busy CPU; cached decoding of long
    targets is covered by test_transformer).
    """
    urls = write_fake_shards(tmp_path / "shards", n_faces=2, per_shard=2, n_attributes=2, seed=7)
    config = config_for(urls[0], tasks="face_to_caption,face_to_attributes", lr=1e-2, min_lr=1e-2,
                        weight_decay=0.0, seed=0)
    tok = SequenceBuilder().tokenizer
    questions = []  # (prompt ids, expected target ids)
    for sample in read_shard(urls[0]):
        image = [IMAGE_OFFSET + int(c) for c in sample.tokens]
        for text in sample.texts:
            if text.kind == "caption":
                questions.append(([CLS_ID, *tok.encode("to caption"), SEP_ID, *image, SEP_ID], [], tok.encode(text.text)))
            else:  # ask for the age: "fake age:" opens the target, the model answers "<n>;"
                head = tok.encode("fake age:")
                answer = tok.encode(text.text.split(";")[0].split(":")[1] + ";")
                questions.append(([CLS_ID, *tok.encode("to attributes"), SEP_ID, *image, SEP_ID], head, answer))
    for max_steps in range(30, 241, 15):  # train on (resuming each time) until every answer comes back
        config.max_steps = max_steps
        train(config, tmp_path / "run")
        model = load_model(tmp_path / "run" / "checkpoint.pt")
        answers = [greedy(model, p + h, [1] * len(p) + [2] * len(h), len(want) + 2) for p, h, want in questions]
        if all(got == want for got, (_, _, want) in zip(answers, questions)):
            break
    assert [tok.decode(a) for a in answers] == [tok.decode(w) for _, _, w in questions]
    assert max_steps <= 240


def losses_of(config: TrainConfig, workdir: Path, stop_at: int | None = None) -> dict[int, float]:
    """Run train(), recording each step's loss; stop_at simulates a crash right after that step."""
    seen: dict[int, float] = {}

    def record(step: int, metrics: dict[str, float]) -> None:
        seen[step] = metrics["loss"]
        if step == stop_at:
            raise KeyboardInterrupt("simulated kill")

    if stop_at is None:
        train(config, workdir, callback=record)
    else:
        with pytest.raises(KeyboardInterrupt):
            train(config, workdir, callback=record)
    return seen


def test_killed_run_resumes_with_the_same_losses(tmp_path: Path) -> None:
    write_fake_shards(tmp_path / "shards", n_faces=9, per_shard=3)
    model = Talk2FaceConfig(**{**MICRO.__dict__, "dropout": 0.1})  # dropout: the RNG state must resume too
    config = config_for(str(tmp_path / "shards"), model=model.__dict__, max_steps=4, checkpoint_every=2,
                        warmup_steps=2, grad_accum=2, lr=3e-3, tasks="face_to_caption,face_to_attributes")
    straight = losses_of(config, tmp_path / "straight")
    first = losses_of(config, tmp_path / "killed", stop_at=3)  # checkpoint at 2, killed after step 3
    assert first[3] == straight[3]
    resumed = losses_of(config, tmp_path / "killed")  # resumes from step 2
    assert sorted(resumed) == [3, 4]
    assert resumed == {3: straight[3], 4: straight[4]}  # exactly equal on CPU
    rows = list(csv.DictReader((tmp_path / "straight" / "train_log.csv").read_text().splitlines()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4] and float(rows[-1]["tokens_per_s"]) > 0
    saved = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    # 4 steps x 2 micro-batches x 2 pairs of each kind = 16 = one epoch of 9 pairs and 7 more
    assert saved["step"] == 4 and saved["data"][0]["streams"][0] == [1, 7, 1, 7]


def test_validation_loss_per_task(tmp_path: Path) -> None:
    write_fake_shards(tmp_path / "shards", n_faces=4, per_shard=4)
    write_fake_shards(tmp_path / "shards", n_faces=4, per_shard=4, split="val", seed=1)
    config = config_for(str(tmp_path / "shards"), max_steps=1, eval_every=1, eval_batches=1)
    result = train(config, tmp_path / "run")
    assert set(result["val"]) == {"face_to_caption", "caption_to_face", "face_to_attributes", "attributes_to_face", "all"}
    rows = list(csv.DictReader((tmp_path / "run" / "val_log.csv").read_text().splitlines()))
    assert {r["task"] for r in rows} == set(result["val"])


class Payload:
    """Stands for an arbitrary pickled object inside a checkpoint."""


def test_a_checkpoint_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": "talk2face-train-checkpoint", "version": 1, "model": {}, "extra": Payload()}, path)
    with pytest.raises(CheckpointError, match="refused, it holds pickled Python objects"):
        load_checkpoint(path)
    write_fake_shards(tmp_path / "shards", n_faces=4, per_shard=4)
    with pytest.raises(CheckpointError, match="refused"):  # train() will not resume from it either
        train(config_for(str(tmp_path / "shards"), max_steps=1), tmp_path)


def test_checkpoints_are_atomic_and_rng_states_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"step": 3, "rng": rng_state()})
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind
    state = load_checkpoint(path)["rng"]
    draws = (torch.rand(3), random.random())
    torch.rand(5), random.random()
    set_rng_state(state)
    assert torch.equal(torch.rand(3), draws[0]) and random.random() == draws[1]
    with pytest.raises(CheckpointError, match="not a Talk2Face training checkpoint"):
        torch.save({"step": 1}, path)
        load_checkpoint(path)


def test_learning_rate_schedule_and_weight_decay_groups() -> None:
    config = TrainConfig(lr=1.0, min_lr=0.1, warmup_steps=4, max_steps=10)
    lrs = [get_lr(s, config) for s in range(11)]
    assert lrs[:4] == [0.2, 0.4, 0.6, 0.8] and lrs[4] == 1.0 and lrs[10] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(lrs[4:], lrs[5:]))
    model = Talk2Face(MICRO)
    decay, no_decay = configure_optimizer(model, config, fused=False).param_groups
    assert {id(p) for p in decay["params"]} == {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Linear)} - {
        id(model.wte.weight)}
    assert id(model.wte.weight) in {id(p) for p in no_decay["params"]} and no_decay["weight_decay"] == 0.0


def test_config_files_presets_and_overrides(tmp_path: Path) -> None:
    assert load_config("paper").model == Talk2FaceConfig.paper()
    path = tmp_path / "run.yaml"
    path.write_text("preset: tiny\nlr: 3.0e-4\nmodel: {preset: small, n_layer: 3}\ntasks: face_to_caption\n")
    config = load_config(str(path))
    assert (config.lr, config.model.n_layer, config.model.n_embd, config.batch_size) == (3e-4, 3, 256, 8)
    set_option(config, "lr", "1e-3")
    set_option(config, "n_head", "8")
    set_option(config, "model.dropout", "0")
    set_option(config, "compile", "true")
    assert (config.lr, config.model.n_head, config.model.dropout, config.compile) == (1e-3, 8, 0.0, True)
    with pytest.raises(ValueError, match="unknown option 'learning_rate'"):
        set_option(config, "learning_rate", "1")
    with pytest.raises(ValueError, match="takes a int"):
        set_option(config, "max_steps", "many")
    with pytest.raises(ValueError, match="multiple of n_head"):
        set_option(config, "n_head", "7")
    json_path = tmp_path / "run.json"
    json_path.write_text(json.dumps({"batch_size": 12, "model": "tiny"}))
    assert load_config(str(json_path)).batch_size == 12


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake_shards(tmp_path / "shards", n_faces=4, per_shard=2)
    argv = ["--shards", str(tmp_path / "shards" / "train-{000000..000001}.tar"), "--config", "tiny",
            "--set", "max_steps=1", "--set", "batch_size=4", "--set", "n_embd=32", "--set", "n_layer=1",
            "--workdir", str(tmp_path / "run")]
    assert main(argv) == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["n_embd"] == 32
    assert "step 1/1 | loss" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--config", "tiny", "--set", "oops", "--workdir", str(tmp_path / "x")])
    assert "write KEY=VALUE" in capsys.readouterr().err


def test_task_weighting_gives_every_task_the_same_pull_whatever_its_target_length() -> None:
    from model.train.trainer import batch_loss

    # two image-target rows (257 tokens, mean loss 1.0) and two answer rows (3 tokens, mean loss 4.0)
    per_seq = torch.tensor([[257.0, 257.0], [257.0, 257.0], [12.0, 3.0], [12.0, 3.0]], requires_grad=True)
    task = torch.tensor([1, 1, 2, 2])
    assert batch_loss(per_seq, task, "token").item() == pytest.approx((514 + 24) / 520)
    assert batch_loss(per_seq, task, "task").item() == pytest.approx((1.0 + 4.0) / 2)
    batch_loss(per_seq, task, "task").backward()
    assert per_seq.grad is not None and per_seq.grad[2, 0] > 50 * per_seq.grad[0, 0]  # the short answer counts
    with pytest.raises(ValueError, match="loss_weighting"):
        batch_loss(per_seq, task, "sequence")


def test_codebook_init_starts_codes_of_similar_colour_alike() -> None:
    from model.tokenizers.palette import palette
    from model.train.corpus import CorpusMismatch, CorpusTokenizer
    from model.train.trainer import init_image_embeddings
    from schemas.sample import TokenizerInfo

    model = Talk2Face(Talk2FaceConfig.tiny())
    text_rows = model.wte.weight[:IMAGE_OFFSET].clone()
    init_image_embeddings(model, CorpusTokenizer(TokenizerInfo("palette-x", "palette", 1024, 256, 16), "s.tar"), seed=0)
    codes = model.wte.weight[IMAGE_OFFSET:IMAGE_OFFSET + 1024].detach()
    colours = torch.from_numpy(palette().astype("float32"))
    near = torch.cdist(colours, colours)
    pairs = torch.nonzero((near > 0) & (near < 20))[:200]  # neighbouring palette colours
    far = torch.nonzero(near > 300)[:200]
    gap = lambda p: float((codes[p[:, 0]] - codes[p[:, 1]]).norm(dim=1).mean())  # noqa: E731
    assert gap(pairs) < 0.3 * gap(far)
    assert torch.equal(model.wte.weight[:IMAGE_OFFSET], text_rows)  # text embeddings untouched
    with pytest.raises(CorpusMismatch, match="palette"):
        init_image_embeddings(model, CorpusTokenizer(TokenizerInfo("vq", "vqgan", 1024, 256, 16), "s.tar"), seed=0)
