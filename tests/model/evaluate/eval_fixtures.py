"""What the evaluation tests share: a stand-in Inception network and fake test shards with an untrained model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch


class TinyNet(torch.nn.Module):
    """A stand-in Inception: uint8 (B, 3, H, W) -> (features (B, 4), logits (B, 3))."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.head = torch.nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.fc(x.float().mean((2, 3)) / 255.0)
        return f, self.head(f)


def make_tiny_net() -> torch.nn.Module:
    """The factory `load_feature_extractor(..., factory="eval_fixtures:make_tiny_net")` calls."""
    return TinyNet()


def write_fake_eval(root: Path) -> tuple[Path, Path]:
    """Test shards of the fake datasets and a checkpoint of an untrained tiny model, under `root`."""
    from model.checkpoint import save_checkpoint
    from model.testing import write_fake_shards
    from model.transformer import Talk2Face, Talk2FaceConfig

    write_fake_shards(root / "shards", n_faces=6, per_shard=4, split="test", seed=5)
    torch.manual_seed(0)
    model = Talk2Face(Talk2FaceConfig.tiny())
    save_checkpoint(root / "ckpt.pt", {"model": model.state_dict(), "model_config": dataclasses.asdict(model.config)})
    return root / "shards", root / "ckpt.pt"
