"""The terms table of a built corpus: each dataset's terms class, terms and where they are stated.

Read from stats.json's ``build.sources`` (schemas/source.py), which the build wrote from the
converters' declarations; ``talk2face inspect OUT`` prints it under the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def terms_rows(stats: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per built dataset: dataset, terms class, terms, link ("undeclared" when its converter has none)."""
    sources = stats.get("build", {}).get("sources", {})
    rows = []
    for name in stats.get("datasets", {}):
        s = sources.get(name)
        rows.append({"dataset": name, "terms_class": s["terms_class"] if s else "undeclared",
                     "terms": s["terms"] if s else "its converter declares no source", "terms_url": s["terms_url"] if s else "-"})
    return rows


def format_terms(stats: Mapping[str, Any]) -> str:
    rows = terms_rows(stats)
    if not rows:
        return "terms: no datasets"
    wd = max(len("dataset"), *(len(r["dataset"]) for r in rows))
    wc = max(len("terms"), *(len(r["terms_class"]) for r in rows))
    lines = ["terms of use (as each converter declares them; check the link before use)",
             f"{'dataset':<{wd}}  {'terms':<{wc}}  stated at / in one line"]
    for r in rows:
        lines.append(f"{r['dataset']:<{wd}}  {r['terms_class']:<{wc}}  {r['terms_url']}")
        lines.append(f"{'':<{wd}}  {'':<{wc}}  {r['terms']}")
    left_out = stats.get("build", {}).get("left_out_by_terms") or {}
    lines += [f"left out: {k}: {why}" for k, why in sorted(left_out.items())]
    return "\n".join(lines)
