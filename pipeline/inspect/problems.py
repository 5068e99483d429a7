"""What the corpus validator reports: a `Problem` (kind, shard, key, fix) and a `Validation` (problems, throughput).

Shared by both modes of pipeline/inspect/validate.py (quick: pipeline/inspect/quick.py; full:
pipeline/inspect/scan.py and validate.py) and by the report (pipeline/inspect/report.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a corpus: its kind, where (shard, key) and what to do."""

    kind: str
    message: str
    shard: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"shard {self.shard}" if self.shard else "", f"key {self.key}" if self.key else "") if p)
        return f"[{self.kind}] {where + ': ' if where else ''}{self.message}"


@dataclass
class Validation:
    """The result of `validate_corpus`: problems found, and how much was read how fast."""

    corpus: str
    shards: int = 0
    samples: int = 0
    manifest_rows: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "ok": self.ok,
            "shards": self.shards,
            "samples": self.samples,
            "manifest_rows": self.manifest_rows,
            "seconds": round(self.seconds, 3),
            "samples_per_second": round(self.samples_per_second, 1),
            "problems": [asdict(p) for p in self.problems],
        }


def format_validation(result: Validation, max_problems: int = 50) -> str:
    """The validation result as terminal text: verdict, throughput, problems by kind, the first ones."""
    head = (f"{'OK' if result.ok else 'FAILED'}: {result.shards} shards, {result.samples:,} samples, "
            f"{result.manifest_rows:,} manifest rows in {result.seconds:.2f} s ({result.samples_per_second:,.0f} samples/s)")
    if result.ok:
        return head
    kinds: dict[str, int] = {}
    for p in result.problems:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    lines = [head, f"{len(result.problems)} problem(s): " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))]
    lines += [f"  {p}" for p in result.problems[:max_problems]]
    if len(result.problems) > max_problems:
        lines.append(f"  ... {len(result.problems) - max_problems} more (--max-problems N, or --json for all)")
    return "\n".join(lines)
