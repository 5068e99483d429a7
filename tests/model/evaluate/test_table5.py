"""`evaluate --task table5`: Table 5's three columns, with absent data reported as not available, never 0."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.evaluate.benchmarks import evaluate
from model.testing import write_fake_shards
from model.transformer import Talk2Face, Talk2FaceConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def test_table5_reports_cacd_and_marks_the_rest_not_available(tmp_path: Path) -> None:
    write_fake_shards(tmp_path, 3, 3, split="test", dataset="cacd", kinds=("attributes",))
    torch.manual_seed(0)
    model = Talk2Face(Talk2FaceConfig.tiny())
    result = evaluate(model, str(tmp_path), "table5", batch_size=4)
    assert list(result.metrics) == ["CelebA-HQ FID", "CACD MAE", "CelebA Acc."]
    assert isinstance(result.metrics["CACD MAE"], float) and result.metrics["CACD MAE"] >= 0
    assert result.metrics["CelebA-HQ FID"] is None and result.metrics["CelebA Acc."] is None
    missing = result.setting["not_available"]
    assert "VQGAN" in missing["CelebA-HQ FID"] and "'celeba'" in missing["CelebA Acc."]
    assert "| CelebA Acc. | n/a |" in result.table() and "CACD MAE" not in missing
