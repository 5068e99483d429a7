"""The Talk2Face trainer: one visible loop from shards to checkpoints.

``train(config, workdir)`` trains on the shards named in the config and keeps everything it writes
in `workdir`: ``checkpoint.pt`` (atomic; a run that finds one resumes from it exactly: same model,
optimizer, step, data order and RNG streams), ``config.json``, ``train_log.csv`` (step, loss, lr,
gradient norm, tokens/s) and ``val_log.csv`` (validation loss per task). Under torchrun
(WORLD_SIZE > 1) it runs DistributedDataParallel, each rank on its own share of the shards.

``main(argv)`` is the command line (``talk2face train``)::

    talk2face train --shards out/shards --config tiny --workdir runs/tiny
    talk2face train --shards 'out/shards/train-{000000..000031}.tar' --config paper --set batch_size=16
    talk2face train --shards out/shards --config paper --set datasets=cacd --workdir runs/cacd-only   # Table 5
    torchrun --nproc_per_node 8 -m model.train.trainer --shards gs://bucket/shards --config paper --workdir runs/paper
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from model.checkpoint import load_checkpoint, load_model, rng_state, save_checkpoint, set_rng_state
from model.train.corpus import (
    CorpusMismatch,
    CorpusTokenizer,
    corpus_tokenizer,
    datasets_present,
    fit_model_config,
)
from model.train.loader import LoaderPosition, ShardDataset, make_loader
from model.train.logs import Logs, TensorBoardMissing, summary_writer_class
from model.train.mixture import Mixture
from model.train.sequences import TASKS, SequenceBuilder, parse_tasks
from model.train.shards import ReadPolicy, resolve_shards
from model.transformer import IGNORE_INDEX, Talk2Face, Talk2FaceConfig
from schemas.progress import track

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Everything a training run needs besides its workdir; presets: `tiny`, `small`, `paper`."""

    # data
    train_shards: str = ""  # a glob, brace pattern, directory (its train-*.tar) or URL of the training shards
    val_shards: str = ""  # validation shards; "" = the val-*.tar beside a directory of train shards, if any
    text_budget: int = 64  # WordPiece tokens per text: captions are cut, attribute texts subset by whole pairs
    digits: bool = False  # numbers (ages) as single digits, "2 5", not whole WordPiece tokens; inference follows it
    attribute_key_loss: bool = True  # loss also on the "<prefix> <key>:" that opens a face-to-attributes target
    loss_weighting: str = "token"  # "token": mean over every target token; "task": mean of each task's token mean
    tasks: str = "all"  # "all" or some of face_to_caption,caption_to_face,face_to_attributes,attributes_to_face
    shuffle_buffer: int = 2000  # pairs held by each stream's shuffle buffer
    num_workers: int = 2  # loader processes per rank; 0 loads in the training process
    datasets: str = ""  # comma-separated datasets whose texts to train on ("cacd", "cacd,celeba"); "" = all
    dataset_weights: str = ""  # repetition factor per dataset, "cacd:2,celeba:1" (model/train/mixture.py); "" = 1 each
    on_bad_sample: str = "fail"  # a bad sample or damaged shard: "fail" naming it, or "skip" (logged, counted)
    read_retries: int = 3  # retries of a shard after a storage read error, with backoff
    retry_backoff: float = 1.0  # seconds before the first retry of a shard, doubled for each next one
    # model (vocab_size, image_tokens and too few n_positions follow the shards' tokenizer: model/train/corpus.py)
    model: Talk2FaceConfig = field(default_factory=Talk2FaceConfig.tiny)
    init_from: str = ""  # start from weights: a TencentPretrain talk2face.bin or one of our checkpoint.pt files
    image_init: str = "random"  # image-code embeddings: "random", or "codebook" (a projection of the codes' colours)
    # optimisation
    batch_size: int = 32  # sequences per micro-batch and rank; a multiple of 4 (a quarter per task)
    grad_accum: int = 1  # micro-batches per optimizer step
    max_steps: int = 1000  # optimizer steps; the learning rate reaches min_lr here
    lr: float = 2e-4  # peak learning rate, after warm-up
    min_lr: float = 0.0  # learning rate at max_steps (linear decay from lr)
    warmup_steps: int = 100  # linear warm-up from ~0 to lr
    weight_decay: float = 0.01  # AdamW decay on linear weights (not on biases, norms, embeddings)
    beta1: float = 0.9
    beta2: float = 0.999
    grad_clip: float = 1.0  # max global gradient norm; 0 turns clipping off
    # system
    seed: int = 1337  # model init, dropout and data order
    device: str = "auto"  # "auto" (CUDA when available), "cpu", "cuda", "cuda:1"
    dtype: str = "bfloat16"  # autocast dtype on GPU: "bfloat16" or "float32" (CPU always runs float32)
    compile: bool = False  # torch.compile the model
    # bookkeeping
    log_every: int = 10  # steps between progress lines and train_log.csv rows
    eval_every: int = 500  # steps between validation passes; 0 = never
    eval_batches: int = 20  # batches per validation pass (per rank)
    checkpoint_every: int = 500  # steps between checkpoints; one is always written at the end
    tensorboard: bool = False  # also log to <workdir>/tensorboard/ (needs pip install '.[tensorboard]')

    @classmethod
    def preset(cls, name: str) -> TrainConfig:
        """A named preset: 'tiny' (tests, a CPU minute), 'small' (CPU experiments) or 'paper' (8 GPUs)."""
        if name == "tiny":
            return cls(model=Talk2FaceConfig.tiny(), batch_size=8, max_steps=200, lr=1e-3, warmup_steps=20,
                       num_workers=0, shuffle_buffer=200, eval_every=100, eval_batches=4, checkpoint_every=100)
        if name == "small":
            return cls(model=Talk2FaceConfig.small(), batch_size=16, max_steps=5000, lr=5e-4, warmup_steps=200)
        if name == "signal":  # `make signal` (pipeline/signal.py): about 10 minutes on 2 quiet CPU cores
            # bench/RESULTS.md, issue 13: ages as single digits (9.3 years MAE against 54.7 whole, both worse than the
            # median's 2.75: digits at least answer in range); every task pulls equally (token weighting gave a 3-token
            # answer 1/80 of a face's pull); code embeddings from the palette colours; 600 all-task steps ~10 quiet min
            return cls(model=Talk2FaceConfig.tiny(), batch_size=16, max_steps=600, lr=2e-3, warmup_steps=60,
                       digits=True, loss_weighting="task", image_init="codebook", num_workers=0, shuffle_buffer=200,
                       eval_every=75, eval_batches=2, checkpoint_every=150, log_every=20)
        if name == "paper":
            # the paper: batch 192 (24 per GPU x 8 GPUs), 500k steps, AdamW (0.9, 0.999), lr 2e-4 with linear
            # warm-up; TencentPretrain's default warm-up is 10% of the steps, then linear decay to 0
            return cls(model=Talk2FaceConfig.paper(), batch_size=24, max_steps=500_000, lr=2e-4,
                       warmup_steps=50_000, num_workers=4, shuffle_buffer=10_000, eval_every=5000,
                       eval_batches=50, checkpoint_every=5000, log_every=100)
        raise ValueError(f"unknown config preset {name!r}; choose tiny, small, signal or paper, or give a JSON/YAML file")

    def to_dict(self) -> dict[str, Any]:
        """Plain types, for config.json and checkpoints."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], base: TrainConfig | None = None) -> TrainConfig:
        """A config from a dict (a config file): unknown keys are an error; `model` is a preset name or a dict."""
        config = dataclasses.replace(base) if base is not None else cls()
        for key, value in values.items():
            set_option(config, key, value)
        return config


def set_option(config: TrainConfig, key: str, value: Any) -> None:
    """Set one option by name (``lr``, ``model.n_layer`` or plain ``n_layer``), converting strings to its type."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    model_names = {f.name for f in dataclasses.fields(Talk2FaceConfig)}
    if key == "model":
        if isinstance(value, str):
            config.model = Talk2FaceConfig.preset(value)
        elif isinstance(value, dict):
            base = Talk2FaceConfig.preset(value["preset"]) if "preset" in value else config.model
            model = dataclasses.replace(base)
            for k, v in value.items():
                if k != "preset":
                    set_option_on(model, k, v, model_names, "model.")
            config.model = dataclasses.replace(model)  # re-runs the config's checks
        else:
            raise ValueError(f"model must be a preset name or a mapping of model options, got {value!r}")
    elif key.startswith("model.") or (key not in names and key in model_names):
        model = dataclasses.replace(config.model)
        set_option_on(model, key.removeprefix("model."), value, model_names, "model.")
        config.model = dataclasses.replace(model)
    else:
        set_option_on(config, key, value, names - {"model"}, "")


def set_option_on(obj: Any, key: str, value: Any, names: set[str], label: str) -> None:
    """Set a dataclass field from a config value, with the field's type."""
    if key not in names:
        raise ValueError(f"unknown option {label}{key!r}; valid options: {', '.join(sorted(names))}")
    kind = get_type_hints(type(obj))[key]
    if isinstance(value, str) and kind is not str:
        text = value.strip().lower()
        if kind is bool:
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"option {label}{key} takes true or false, got {value!r}")
            value = text in ("true", "1", "yes")
        else:
            try:
                value = kind(value)
            except ValueError as err:
                raise ValueError(f"option {label}{key} takes a {kind.__name__}, got {value!r}") from err
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"option {label}{key} takes a {kind.__name__}, got {value!r}")
    setattr(obj, key, value)


def load_config(spec: str) -> TrainConfig:
    """A preset name (tiny, small, paper) or a JSON / YAML file of options (``"preset"`` may name the base)."""
    if spec in ("tiny", "small", "paper"):
        return TrainConfig.preset(spec)
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"config {spec!r} is neither a preset (tiny, small, paper) nor a file")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        values = yaml.safe_load(text) or {}
    else:
        values = json.loads(text)
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of options at the top level")
    base = TrainConfig.preset(values.pop("preset")) if "preset" in values else None
    return TrainConfig.from_dict(values, base)


# -----------------------------------------------------------------------------
# Small verbs of the loop


def get_lr(step: int, config: TrainConfig) -> float:
    """Learning rate of optimizer step `step` (0-based): linear warm-up, then linear decay to min_lr."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / (config.warmup_steps + 1)
    span = max(config.max_steps - config.warmup_steps, 1)
    done = min((step - config.warmup_steps) / span, 1.0)
    return config.lr + done * (config.min_lr - config.lr)


def configure_optimizer(model: nn.Module, config: TrainConfig, fused: bool) -> torch.optim.AdamW:
    """AdamW with two groups: decay on linear weights; none on biases, LayerNorms and embeddings."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    seen: set[int] = set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if id(p) in seen or not p.requires_grad:
                continue  # a tied output layer is the token embedding: counted once, as an embedding
            seen.add(id(p))
            (decay if isinstance(module, nn.Linear) and name == "weight" else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), fused=fused or None)


def batch_loss(per_seq: torch.Tensor, task: torch.Tensor, weighting: str) -> torch.Tensor:
    """The loss to minimise from per-sequence (loss sum, target count) rows (B, 2) and each row's task (B,).

    "token": the mean over all target tokens, so a face's 257 image tokens outweigh a 3-token answer
    ~80 to 1 when all four tasks share a batch. "task": the mean over the tasks present of each task's
    token mean, so every task pulls equally, whatever the length of its targets.
    """
    if weighting == "token":
        return per_seq[:, 0].sum() / per_seq[:, 1].sum()
    if weighting != "task":
        raise ValueError(f"loss_weighting={weighting!r}; use 'token' or 'task'")
    sums = torch.zeros(len(TASKS), 2, dtype=per_seq.dtype, device=per_seq.device).index_add(0, task, per_seq)
    present = sums[:, 1] > 0
    return (sums[present, 0] / sums[present, 1]).mean()


def token_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed loss of a batch's target tokens, and per sequence (loss sum, target count) as a (B, 2) tensor."""
    losses = model(batch["ids"], batch["segments"], batch["labels"])  # (B, T)
    counts = (batch["labels"] != IGNORE_INDEX).sum(1)  # (B,)
    return losses.sum(), torch.stack([losses.float().sum(1), counts.float()], dim=1)


@torch.no_grad()
def estimate_loss(
    model: nn.Module, urls: Sequence[str], config: TrainConfig, device: torch.device, rank: int, world: int,
    corpus: CorpusTokenizer | None = None, progress: str | None = None,
) -> dict[str, float]:
    """Validation loss per task (mean over target tokens) on the first eval_batches batches of the val shards.

    Only the selected datasets' pairs count (config.datasets), each once: weights shape training, not the score.
    `progress`: label of a progress bar (plain lines off a terminal) over the batches; None = quiet.
    """
    dataset = ShardDataset(
        urls, SequenceBuilder(config.text_budget, config.attribute_key_loss, digits=config.digits), config.batch_size,
        seed=config.seed, shuffle=False, rank=rank, world_size=world, num_workers=0, tasks=parse_tasks(config.tasks),
        mixture=Mixture(Mixture.parse(config.datasets, config.dataset_weights).datasets), corpus=corpus,
    )
    sums = torch.zeros(len(TASKS), 2, device=device)  # per task: loss sum, target tokens
    was_training = model.training
    model.eval()
    batches = zip(range(config.eval_batches), dataset)
    for _, batch in track(batches, config.eval_batches, progress, "batch") if progress else batches:
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast(device, config):
            _, per_seq = token_loss(model, batch)
        sums.index_add_(0, batch["task"], per_seq)
    model.train(was_training)
    if world > 1:
        dist.all_reduce(sums)
    result = {TASKS[t]: float(sums[t, 0] / sums[t, 1]) for t in range(len(TASKS)) if sums[t, 1] > 0}
    if sums[:, 1].sum() > 0:
        result["all"] = float(sums[:, 0].sum() / sums[:, 1].sum())
    return result


def autocast(device: torch.device, config: TrainConfig) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on GPU when the config asks for it, else nothing."""
    if device.type == "cuda" and config.dtype == "bfloat16":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    if config.dtype not in ("bfloat16", "float32"):
        raise ValueError(f"dtype={config.dtype!r}; use bfloat16 or float32")
    return contextlib.nullcontext()


def setup_distributed(config: TrainConfig) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the torchrun process group when WORLD_SIZE > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if config.device == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        name = config.device
    if world == 1:
        return 0, 1, torch.device(name)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if name.startswith("cuda"):
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def follow_corpus(config: TrainConfig, urls: Sequence[str]) -> tuple[CorpusTokenizer, Mixture, list[str]]:
    """The corpus's tokenizer and the dataset mixture; fits config.model to the tokenizer (notes say what changed).

    Raises CorpusMismatch for a config that contradicts the shards or a selection of datasets they do not hold.
    """
    corpus = corpus_tokenizer(urls)
    mixture = Mixture.parse(config.datasets, config.dataset_weights)
    if not mixture.everything:
        try:
            mixture.check(datasets_present(urls), f"the {len(urls)} training shards ({sorted(urls)[0]} ...)")
        except ValueError as err:
            raise CorpusMismatch(str(err)) from err
    config.model, notes = fit_model_config(config.model, corpus, config.text_budget)
    return corpus, mixture, notes


def init_image_embeddings(model: Talk2Face, corpus: CorpusTokenizer, seed: int) -> None:
    """Start the image codes' embeddings as a fixed random projection of what each code stands for, so codes of
    similar colour start alike instead of 1,024 unrelated vectors each learnt from its own rare occurrences.

    Only the palette tokenizer's codes have a meaning known without its weights (their RGB colours); the
    rows keep the N(0, 0.02) scale of the other embeddings, and train as usual.
    """
    kind = corpus.info.kind if corpus.info is not None else None
    if kind != "palette":
        raise CorpusMismatch(f"image_init=codebook needs shards of the palette tokenizer; {corpus.shard} holds codes "
                             f"of {kind or 'an unnamed tokenizer'}: use image_init=random")
    from model.tokenizers.palette import palette

    colours = torch.from_numpy(palette().astype(np.float32) / 255.0)  # (K, 3)
    colours = (colours - colours.mean(0)) / colours.std(0)
    g = torch.Generator().manual_seed(seed)
    project = torch.randn(3, model.config.n_embd, generator=g) * 0.02  # (3, C)
    layout = model.config.layout
    with torch.no_grad():
        model.wte.weight[layout.image_offset:layout.image_stop] = colours @ project + \
            0.1 * model.wte.weight[layout.image_offset:layout.image_stop]


def init_model(config: TrainConfig) -> Talk2Face:
    """A fresh model of config.model, or the weights named by config.init_from."""
    if not config.init_from:
        return Talk2Face(config.model)
    path = Path(config.init_from)
    try:
        model = load_model(path)
    except ValueError:  # not our checkpoint: the released TencentPretrain weights
        model = Talk2Face.from_tencentpretrain(path, heads=config.model.n_head, dropout=config.model.dropout)
    if model.config != config.model:
        print(f"init_from {path}: using its model config {model.config}", file=sys.stderr)
        config.model = model.config
    return model.train()


def gather(obj: Any, world: int) -> list[Any]:
    """Every rank's `obj`, in rank order (just [obj] without DDP)."""
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def format_eta(seconds: float) -> str:
    """H:MM:SS."""
    s = int(max(seconds, 0))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


# -----------------------------------------------------------------------------
# The loop


def train(
    config: TrainConfig, workdir: str | Path, callback: Callable[[int, dict[str, float]], None] | None = None
) -> dict[str, Any]:
    """Train (or resume, if workdir holds a checkpoint) until config.max_steps; returns the last losses.

    `callback(step, {"loss": ..., "lr": ...})` runs after every optimizer step on every rank
    (after that step's logging, validation and checkpoint); an exception from it stops training.
    """
    workdir = Path(workdir)
    rank, world, device = setup_distributed(config)
    master = rank == 0
    if master:
        workdir.mkdir(parents=True, exist_ok=True)
        if config.tensorboard:
            summary_writer_class()  # fail before any work when TensorBoard is missing
    torch.manual_seed(config.seed)  # the same initial weights on every rank
    random.seed(config.seed + rank)
    np.random.seed(config.seed + rank)

    urls = resolve_shards(config.train_shards, "train")
    val_urls = resolve_val_shards(config)
    corpus, mixture, notes = follow_corpus(config, urls)
    for note in notes if master else ():
        print(f"note: {note}", file=sys.stderr)

    model = init_model(config)
    if config.image_init == "codebook" and not config.init_from:
        init_image_embeddings(model, corpus, config.seed)
    elif config.image_init not in ("random", "codebook"):
        raise ValueError(f"image_init={config.image_init!r}; use 'random' or 'codebook'")
    model = model.to(device)
    if model.config.layout != corpus.layout:  # init_from weights of another tokenizer's corpus
        raise CorpusMismatch(f"init_from {config.init_from}: its vocabulary ({model.config.layout}) is not the "
                             f"shards' ({corpus.layout}, {corpus.shard}); start from weights trained on that tokenizer")
    optimizer = configure_optimizer(model, config, fused=device.type == "cuda")
    step, position = 0, LoaderPosition.start(config.num_workers)
    ckpt_path = workdir / CHECKPOINT
    if ckpt_path.exists():  # resume exactly where the checkpoint left off
        ckpt = load_checkpoint(ckpt_path)
        saved_world = len(ckpt["data"])
        if saved_world != world:
            raise ValueError(f"{ckpt_path} was written by {saved_world} ranks; resume with the same world size")
        saved = ckpt.get("corpus", {}).get("tokenizer")
        if "corpus" in ckpt and saved != corpus.to_dict()["tokenizer"]:
            raise CorpusMismatch(f"{ckpt_path} was trained on shards of tokenizer {saved}, but {corpus.shard} holds "
                                 f"codes of {corpus.to_dict()['tokenizer']}; resume on the same shards or use a new workdir")
        if ckpt["config"] != config.to_dict() and master:
            print(f"note: config differs from the one saved in {ckpt_path}; resuming with the new one", file=sys.stderr)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        step = int(ckpt["step"])
        position = LoaderPosition.from_state(ckpt["data"][rank])
        set_rng_state(ckpt["rng"][rank])
        if master:
            print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    else:
        torch.manual_seed(config.seed + rank)  # dropout differs between ranks
    raw_model = model
    step_model: nn.Module = model  # what the loop calls: compiled and/or DDP-wrapped
    if config.compile:
        step_model = torch.compile(step_model)  # type: ignore[assignment]
    if world > 1:
        step_model = DistributedDataParallel(step_model, device_ids=[device.index] if device.type == "cuda" else None)

    dataset = ShardDataset(
        urls, SequenceBuilder(config.text_budget, config.attribute_key_loss, digits=config.digits), config.batch_size,
        seed=config.seed, shuffle_buffer=config.shuffle_buffer, rank=rank, world_size=world,
        num_workers=config.num_workers, position=position, tasks=parse_tasks(config.tasks), mixture=mixture,
        corpus=corpus,
        policy=read_policy(config),
    )
    batches: Iterator[dict[str, torch.Tensor]] = iter(make_loader(dataset, pin_memory=device.type == "cuda"))
    logs = Logs(workdir, config.tensorboard) if master else None
    if master:
        workdir.joinpath("config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"training {raw_model.num_params() / 1e6:.1f}M parameters on {world} x {device} "
              f"from {len(urls)} shards; batch {config.batch_size} x {config.grad_accum} x {world}", file=sys.stderr)

    def save() -> None:
        data, rngs = gather(position.state(), world), gather(rng_state(), world)
        if master:
            save_checkpoint(ckpt_path, {
                "model": raw_model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": {"name": "linear_warmup_linear_decay", "warmup_steps": config.warmup_steps,
                              "max_steps": config.max_steps, "lr": config.lr, "min_lr": config.min_lr},
                "step": step, "data": data, "rng": rngs, "config": config.to_dict(), "faults": fault_totals(data),
                "model_config": dataclasses.asdict(raw_model.config),
                "corpus": {**corpus.to_dict(), "mixture": mixture.to_dict()},  # the layout generate/evaluate use
            })

    result: dict[str, Any] = {"step": step}
    step_model.train()
    try:
        t0 = t_log = time.time()
        tokens_since_log, start_step = 0, step
        while step < config.max_steps:
            lr = get_lr(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss_value = 0.0
            for micro in range(config.grad_accum):
                cpu_batch = next(batches)
                position.advance(cpu_batch["position"], cpu_batch.get("faults"))
                tokens_since_log += int((cpu_batch["segments"] > 0).sum()) * world
                batch = {k: v.to(device, non_blocking=True) for k, v in cpu_batch.items()}
                sync = world == 1 or micro == config.grad_accum - 1
                with (contextlib.nullcontext() if sync else step_model.no_sync()), autocast(device, config):  # type: ignore[operator]
                    _, per_seq = token_loss(step_model, batch)
                    loss = batch_loss(per_seq, batch["task"], config.loss_weighting) / config.grad_accum
                loss.backward()
                loss_value += float(loss.detach())
            grad_norm = nn.utils.clip_grad_norm_(raw_model.parameters(), config.grad_clip if config.grad_clip > 0 else math.inf)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            result.update(step=step, loss=loss_value, faults=position.fault_totals())

            if master and (step % config.log_every == 0 or step == config.max_steps):
                now = time.time()
                tok_s = tokens_since_log / max(now - t_log, 1e-9)
                eta = (now - t0) / (step - start_step) * (config.max_steps - step)
                print(f"step {step}/{config.max_steps} | loss {loss_value:.4f} | lr {lr:.2e} | "
                      f"{tok_s:,.0f} tok/s | ETA {format_eta(eta)}", file=sys.stderr)
                assert logs is not None
                logs.log_train({"step": step, "loss": loss_value, "lr": lr, "grad_norm": float(grad_norm),
                                "tokens": tokens_since_log, "tokens_per_s": tok_s, "elapsed_s": now - t0})
                t_log, tokens_since_log = now, 0
            if val_urls and config.eval_every and (step % config.eval_every == 0 or step == config.max_steps):
                val = estimate_loss(raw_model, val_urls, config, device, rank, world, corpus,
                                    progress=f"step {step} validation" if master else None)
                result["val"] = val
                if master and logs is not None:
                    logs.log_val(step, val)
                    print(f"step {step} | val " + " ".join(f"{k} {v:.4f}" for k, v in val.items()), file=sys.stderr)
            if step % config.checkpoint_every == 0 or step == config.max_steps:
                save()
            if callback is not None:
                callback(step, {"loss": loss_value, "lr": lr})
    finally:
        if logs is not None:
            logs.close()
    return result


def read_policy(config: TrainConfig) -> ReadPolicy:
    """The shard readers' fault policy of a config (checks its options)."""
    return ReadPolicy(config.on_bad_sample, config.read_retries, config.retry_backoff)


def fault_totals(positions: list[dict[str, Any]]) -> dict[str, int]:
    """Bad samples, bad shards and read retries of all ranks' loaders, from their saved positions."""
    totals = [LoaderPosition.from_state(p).fault_totals() for p in positions]
    return {name: sum(t[name] for t in totals) for name in ("bad_samples", "bad_shards", "read_retries")}


def resolve_val_shards(config: TrainConfig) -> list[str]:
    """The validation shards: config.val_shards, else val-*.tar beside a directory of train shards, else none."""
    if config.val_shards:
        return resolve_shards(config.val_shards, "val")
    spec = config.train_shards
    if spec and "{" not in spec and not any(c in spec for c in "*?[") and not spec.endswith(".tar"):
        try:
            return resolve_shards(spec, "val")
        except FileNotFoundError:
            pass
    return []


# -----------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """``talk2face train``: train from shards with a preset or config file, plus --set overrides."""
    parser = argparse.ArgumentParser(
        prog="talk2face train",
        description="Train Talk2Face from WebDataset shards; a workdir holding checkpoint.pt resumes exactly.",
    )
    parser.add_argument("--shards", help="training shards: a glob, a brace pattern, a directory or a URL")
    parser.add_argument("--val-shards", help="validation shards (default: val-*.tar beside a --shards directory)")
    parser.add_argument("--config", default="tiny", help="preset (tiny, small, paper) or a JSON/YAML file of options")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override an option, e.g. --set lr=1e-3 --set model.n_layer=4 (repeatable)")
    parser.add_argument("--workdir", required=True, help="folder for checkpoint.pt, logs and config.json")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        for item in args.set:
            key, eq, value = item.partition("=")
            if not eq:
                raise ValueError(f"--set {item!r}: write KEY=VALUE")
            set_option(config, key.strip(), value.strip())
        if args.shards:
            config.train_shards = args.shards
        if args.val_shards:
            config.val_shards = args.val_shards
        if not config.train_shards:
            raise ValueError("no training shards: pass --shards or set train_shards in the config")
        parse_tasks(config.tasks)
        if config.loss_weighting not in ("token", "task"):
            raise ValueError(f"loss_weighting={config.loss_weighting!r}; use 'token' or 'task'")
        Mixture.parse(config.datasets, config.dataset_weights)
        read_policy(config)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    try:
        train(config, args.workdir)
    except (CorpusMismatch, TensorBoardMissing) as err:
        parser.error(str(err))
    except (ValueError, LookupError, OSError) as err:  # bad shards, unreadable storage: named, no traceback
        print(f"talk2face train: error: {err}", file=sys.stderr)
        return 1
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
