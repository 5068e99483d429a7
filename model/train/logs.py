"""The trainer's logs: ``train_log.csv``, ``val_log.csv`` and, when asked for, TensorBoard scalars.

``Logs(workdir, tensorboard)`` appends one row per logged step to the CSV files (a resumed run
continues them) and mirrors the same numbers to ``<workdir>/tensorboard/``; only rank 0 writes.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


class TensorBoardMissing(ImportError):
    """tensorboard=true, but TensorBoard is not installed."""


def summary_writer_class() -> Any:
    """torch's TensorBoard SummaryWriter, imported only when asked for; TensorBoardMissing says what to install."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise TensorBoardMissing(f"tensorboard=true needs TensorBoard ({err}); install it with "
                          "pip install '.[tensorboard]' (or pip install tensorboard), or leave tensorboard=false") from err
    return SummaryWriter


class Logs:
    """train_log.csv, val_log.csv and (when asked for) TensorBoard under <workdir>/tensorboard/, written by rank 0."""

    TRAIN = ["step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "elapsed_s"]
    VAL = ["step", "task", "loss"]

    def __init__(self, workdir: Path, tensorboard: bool) -> None:
        self.train = self._open(workdir / "train_log.csv", self.TRAIN)
        self.val = self._open(workdir / "val_log.csv", self.VAL)
        self.board = summary_writer_class()(str(workdir / "tensorboard")) if tensorboard else None

    @staticmethod
    def _open(path: Path, header: list[str]) -> Any:
        new = not path.exists()
        f = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        writer = csv.writer(f)
        if new:
            writer.writerow(header)
        return f, writer

    def log_train(self, row: dict[str, float]) -> None:
        self.train[1].writerow([row[k] for k in self.TRAIN])
        self.train[0].flush()
        if self.board:
            for k in ("loss", "lr", "grad_norm", "tokens_per_s"):
                self.board.add_scalar(f"train/{k}", row[k], int(row["step"]))

    def log_val(self, step: int, losses: dict[str, float]) -> None:
        for task, loss in losses.items():
            self.val[1].writerow([step, task, loss])
            if self.board:
                self.board.add_scalar(f"val/{task}", loss, step)
        self.val[0].flush()

    def close(self) -> None:
        self.train[0].close()
        self.val[0].close()
        if self.board:
            self.board.close()
