"""Training checkpoints: written atomically, read with ``torch.load(weights_only=True)`` only.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (DESIGN.md 5): model and
optimizer state, the step, the loader positions of every rank, the RNG states of every rank (torch,
CUDA, numpy, python, stored as tensors and plain numbers) and the configs as dicts. Nothing in it
needs unpickling of arbitrary objects, so a checkpoint that does is refused. `load_talk2face` also
reads the released TencentPretrain ``talk2face.bin``.
"""

from __future__ import annotations

import os
import pickle
import random
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.transformer import Talk2Face, Talk2FaceConfig

FORMAT = "talk2face-train-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read safely or is not a Talk2Face training checkpoint."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write `payload` to `path` atomically: a temporary file in the same folder, fsync, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")  # unique per attempt
    try:
        with open(tmp, "wb") as f:
            torch.save({"format": FORMAT, "version": VERSION, **payload}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    remove_dead_temps(path)


def remove_dead_temps(path: Path) -> list[Path]:
    """Delete the temporary files of `path` left by writers killed mid-save (their process is gone); returns them.

    A kill -9 during `save_checkpoint` leaves ``.<name>.tmp-<pid>-<id>`` beside the old checkpoint,
    which stays valid (the new one only replaces it once complete).
    """
    removed = []
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        pid = tmp.name.removeprefix(f".{path.name}.tmp-").split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`, refusing anything that needs unpickling of objects."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path}: refused, it holds pickled Python objects, not only tensors and plain containers "
            f"(torch.load weights_only=True failed: {str(err).splitlines()[0]}). Load it only if you trust "
            "its source, then re-save its tensors as a plain dict."
        ) from err
    except (OSError, RuntimeError, EOFError) as err:
        raise CheckpointError(f"{path}: cannot read it as a torch checkpoint ({err})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Talk2Face training checkpoint (no format={FORMAT!r} entry)")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload.get('version')}, this code reads {VERSION}")
    return payload


def load_model(path: str | Path) -> Talk2Face:
    """The model of a training checkpoint, in eval mode on the CPU."""
    payload = load_checkpoint(path)
    try:
        model = Talk2Face(Talk2FaceConfig(**payload["model_config"]))
        model.load_state_dict(payload["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: its weights do not fit the model config it holds ({str(err).splitlines()[0]}); "
                              "it was written by other code or edited") from err
    return model.eval()


def load_talk2face(path: str | Path, heads: int = 12) -> Talk2Face:
    """Our training checkpoint (`save_checkpoint`) or the released TencentPretrain ``talk2face.bin``, in eval mode."""
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


def rng_state() -> dict[str, Any]:
    """This process's RNG states (torch, CUDA, numpy, python) as tensors and plain numbers."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    assert isinstance(keys, np.ndarray)
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64), "gauss_next": gauss_next},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` returned."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(x) for x in p["state"].tolist()), p["gauss_next"]))


__all__ = ["CheckpointError", "load_checkpoint", "load_model", "load_talk2face", "rng_state", "save_checkpoint", "set_rng_state"]
