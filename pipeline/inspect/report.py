"""The HTML report: the summary, charts as inline SVG and the contact sheet as base64 PNG, in one page."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.inspect.leaks import render_leaks
from pipeline.inspect.summary import cell, codebook_source, is_number, stats_notes, stats_rows
from pipeline.inspect.validate import Validation, format_validation
from schemas.stats import DATASET_REASONS

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;border-bottom:1px solid #eee}
th{text-align:left;background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #eee;padding:6px}
.note{color:#666}.warn{color:#a40}svg text{font:11px sans-serif}img{max-width:100%}
"""


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td class=\"n\">{cell(v)}</td>" if is_number(v) else f"<td>{html.escape(cell(v))}</td>"
                         for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def svg_bars(items: Sequence[tuple[str, float]], title: str, width: int = 340, bar: int = 14) -> str:
    """A horizontal bar chart as inline SVG (labels left, values right)."""
    if not items:
        return ""
    label_w, value_w = 130, 70
    top = 20
    height = top + bar * len(items) + 6
    biggest = max(v for _, v in items) or 1
    parts = [f'<svg width="{width}" height="{height}" role="img"><text x="0" y="13" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = top + i * bar
        w = (width - label_w - value_w) * value / biggest
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(f'<text x="{label_w - 4}" y="{y + bar - 4}" text-anchor="end">{html.escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y + 1}" width="{w:.1f}" height="{bar - 3}" fill="#4a7ab5"/>'
                     f'<text x="{label_w + w + 3:.1f}" y="{y + bar - 4}">{cell(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_columns(values: Sequence[float], title: str, width: int = 520, height: int = 160,
                marker: int | None = None, marker_label: str = "", log: bool = False) -> str:
    """A column chart of a sequence (a histogram) as inline SVG, with an optional vertical marker."""
    if not values:
        return ""
    top, bottom = 20, 16
    plot_h = height - top - bottom
    scaled = [math.log10(1 + v) for v in values] if log else list(values)
    biggest = max(scaled) or 1
    step = width / len(values)
    parts = [f'<svg width="{width}" height="{height}" role="img"><text x="0" y="13" font-weight="bold">{html.escape(title)}</text>']
    for i, v in enumerate(scaled):
        h = plot_h * v / biggest
        parts.append(f'<rect x="{i * step:.2f}" y="{top + plot_h - h:.2f}" width="{max(step - 0.5, 0.5):.2f}" '
                     f'height="{h:.2f}" fill="#4a7ab5"/>')
    parts.append(f'<text x="0" y="{height - 3}">0</text><text x="{width}" y="{height - 3}" text-anchor="end">'
                 f'{len(values) - 1}</text>')
    if marker is not None:
        x = marker * step
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#c33" stroke-dasharray="3"/>'
                     f'<text x="{x + 3:.1f}" y="{top + 10}" fill="#c33">{html.escape(marker_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_report(summary: Mapping[str, Any], sheet_png: bytes | None = None, sheet_note: str = "",
                  validation: Validation | None = None, clusters: Mapping[str, Any] | None = None,
                  cluster_faces: Mapping[str, Any] | None = None, clusters_note: str = "") -> str:
    """The summary (and optionally a contact sheet, a validation, leak clusters) as one self-contained HTML page.

    `clusters` is `pipeline.inspect.leaks.read_clusters`'s result and `cluster_faces` their faces by key.
    """
    esc = html.escape
    out = ["<!doctype html><html><head><meta charset=\"utf-8\"><title>Talk2Face corpus report</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>Talk2Face corpus: {esc(str(summary['corpus']))}</h1>",
           f"<p>{summary['samples']:,} samples, {summary['manifest_rows']:,} face-text pairs.</p>"]
    out += ["<h2>Splits</h2>", _html_table(
        ["split", "samples", "pairs", "shards (manifest)", "shard files"],
        [[r["split"], r["samples"], r["pairs"], r["shards"], r["shard_files"]] for r in summary["splits"]])]
    out += ["<h2>Datasets</h2>", _html_table(
        ["dataset", "kind", "records", "samples", "pairs"],
        [[r["dataset"], r["kind"], r["records"], r["samples"], r["pairs"]] for r in summary["datasets"]])]
    out.append('<div class="charts"><div class="chart">' + svg_bars(
        [(f"{r['dataset']} {r['kind']}", r["pairs"]) for r in summary["datasets"]], "pairs per dataset and kind",
        width=480) + "</div></div>")
    stats = summary["stats"]
    out.append("<h2>Build accounting (stats.json)</h2>")
    if not stats["present"]:
        out.append(f'<p class="warn">{esc(str(stats["error"]))}</p>')
    else:
        out.append(_html_table(*stats_rows(stats["datasets"])))
        reasons = [[d["dataset"], what, reason, n] for d in stats["datasets"] for what in DATASET_REASONS
                   for reason, n in d[what].items()]
        if reasons:
            out += ["<h3>Filtered and rejected by reason</h3>", _html_table(["dataset", "outcome", "reason", "records"], reasons)]
        out.append("".join(f"<p>{esc(note)}</p>" for note in stats_notes(stats)))
    if stats["present"]:
        out.append(render_leaks(summary.get("leaks"), clusters, cluster_faces, clusters_note))
    tt = summary["text_tokens"]
    out.append(f"<h2>Text length in WordPiece tokens</h2><p class=\"note\">{esc(tt['tokenizer'])}; the trainer's "
               f"text budget is {tt['budget']} tokens (longer captions are cut, attribute texts subset).</p>")
    cols = ["texts", "mean", "p50", "p90", "p99", "max", "over_budget", "over_budget_pct"]
    out.append(_html_table(["kind / dataset", *[c.replace("_pct", " %").replace("_", " ") for c in cols]],
                           [[r["kind"], *[r[c] for c in cols]] for r in tt["by_kind"]]
                           + [[r["dataset"], *[r[c] for c in cols]] for r in tt["by_dataset"]]))
    histograms = [svg_columns(counts, f"{kind}: texts per length in tokens (last bar: longer)", marker=tt["budget"],
                              marker_label="budget") for kind, counts in tt["histogram"].items()]
    out.append('<div class="charts">' + "".join(f'<div class="chart">{h}</div>' for h in histograms) + "</div>")
    out.append("<h2>Label distributions (records per value)</h2>")
    for dataset, keys in summary["labels"].items():
        charts = []
        for key, dist in keys.items():
            items = [(str(v), n) for v, n in dist["values"]]
            if dist.get("other"):
                items.append(("(other)", dist["other"]))
            if dist["missing"]:
                items.append(("(missing)", dist["missing"]))
            title = f"{key} ({dist['type']}, {dist['distinct']} distinct)"
            charts.append(f'<div class="chart">{svg_bars(items, title)}</div>')
        out.append(f"<h3>{esc(dataset)}</h3><div class=\"charts\">{''.join(charts)}</div>")
    cb = summary.get("codebook")
    out.append("<h2>Image-token codebook usage</h2>")
    if cb is None:
        out.append('<p class="note">skipped</p>')
    else:
        out.append(f"<p>{cb['used']:,} of {cb['codebook_size']:,} codes used; entropy {cb['entropy_bits']:.2f} of "
                   f"{cb['max_entropy_bits']:.0f} bits (perplexity {cb['perplexity']:,}); the 10 most frequent codes are "
                   f"{cb['top10_share_pct']}% of tokens. From {esc(codebook_source(cb))}.</p>")
        ranked = sorted(cb["counts"], reverse=True)
        out.append('<div class="charts"><div class="chart">' + svg_columns(
            ranked, "token count per code, most frequent first (log scale)", width=1024, log=True) + "</div></div>")
        for problem in cb["damaged_shards"]:
            out.append(f'<p class="warn">damaged shard skipped: {esc(problem)}</p>')
    if validation is not None:
        out.append("<h2>Validation</h2>" + f"<pre>{esc(format_validation(validation))}</pre>")
    out.append("<h2>Contact sheet</h2>")
    if sheet_png:
        out.append(f'<img alt="contact sheet" src="data:image/png;base64,{base64.b64encode(sheet_png).decode()}">')
    if sheet_note:
        out.append(f'<p class="note">{esc(sheet_note)}</p>')
    out.append(f"<p class=\"note\">summary computed in {summary['seconds']['total']:.2f} s</p></body></html>")
    return "\n".join(out)
