"""The signal experiment's reports: ``report.json`` (figures, chance levels, targets) and ``report.html``
(learning curves per task as inline SVG, the prompt grid with the faces generated for it, held-out
faces with the captions and answers generated for them; pictures inline as PNG data URLs)."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def curves(workdir: Path) -> dict[str, list[tuple[int, float]]]:
    """Validation loss per task, by step, from the trainer's val_log.csv (the train loss as ``train``)."""
    out: dict[str, list[tuple[int, float]]] = {}
    for name, key in (("val_log.csv", "task"), ("train_log.csv", None)):
        path = workdir / name
        if path.is_file():
            with open(path, newline="") as f:
                for row in csv.DictReader(f):
                    out.setdefault(row[key] if key else "train", []).append((int(row["step"]), float(row["loss"])))
    return out


def svg_curves(series: dict[str, list[tuple[int, float]]], width: int = 640, height: int = 300) -> str:
    """A line chart of loss against step, one line per series, as an SVG string."""
    points = [p for line in series.values() for p in line]
    if not points:
        return "<p>no training log</p>"
    x1 = max(1, max(s for s, _ in points))
    y0, y1 = min(v for _, v in points), max(v for _, v in points)
    y1 = y1 if y1 > y0 else y0 + 1
    pad = 40

    def xy(step: int, loss: float) -> str:
        return f"{pad + (width - 2 * pad) * step / x1:.1f},{height - pad - (height - 2 * pad) * (loss - y0) / (y1 - y0):.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white" stroke="#ccc"/>',
             f'<text x="{pad}" y="{pad - 10}">loss {y1:.2f}</text><text x="{pad}" y="{height - pad + 14}">{y0:.2f}</text>',
             f'<text x="{width - pad - 60}" y="{height - 8}">step {x1}</text>']
    for i, (name, line) in enumerate(sorted(series.items())):
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(xy(s, v) for s, v in line)}"/>')
        parts.append(f'<text x="{width - 170}" y="{pad + 14 * i}" fill="{colour}">{html.escape(name)}</text>')
    return "".join(parts) + "</svg>"


def png_url(image: np.ndarray, size: int = 128) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).resize((size, size), Image.Resampling.NEAREST).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _targeted(figures: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(decoding group, figure name, figure) for every figure of the report that has a target."""
    for group, values in figures.items():
        for name, fig in values.items():
            if isinstance(fig, dict) and "target" in fig:
                yield group, name, fig


def _figure_rows(figures: dict[str, Any]) -> str:
    rows = []
    for group, name, fig in _targeted(figures):
        value = "n/a" if fig["value"] is None else f"{fig['value']:.3f}"
        rows.append(f"<tr><td>{group}</td><td>{name}</td><td>{value}</td><td>{fig['chance']:.3g}</td>"
                    f"<td>{fig['target']}</td><td>{'met' if fig['met'] else 'NOT MET'}</td><td>{fig['n']}</td></tr>")
    return "".join(rows)


def _ceiling_note(figures: dict[str, Any]) -> str:
    """The text -> face ceilings beside the figure: what read_back sees in faces that do show the prompt."""
    t2f = figures.get("text_to_face", {})
    drawn = t2f.get("ceiling_drawn_prompts", {}).get("through_tokenizer")
    own = t2f.get("ceiling_own_codes")
    parts = []
    if drawn:
        parts.append(f"faces drawn as each prompt asks, through the tokenizer: hair and smile {drawn['hair_and_smile']:.2f} "
                     f"(hair {drawn['hair']:.2f}, smile {drawn['smile']:.2f}, n={drawn['n']})")
    if own:
        parts.append(f"held-out CelebA faces decoded from their own codes: {own['hair_and_smile']:.2f} "
                     f"(hair {own['hair']:.2f}, smile {own['smile']:.2f}, n={own['n']:.0f})")
    return f"<p>Text &rarr; face ceiling (read_back agreement): {html.escape('; '.join(parts))}</p>" if parts else ""


def write_reports(out: Path, report: dict[str, Any], examples: dict[str, Any], workdir: Path) -> None:
    """Write ``out/report.json`` and ``out/report.html``."""
    series = curves(workdir)
    report["curves"] = {k: v for k, v in series.items()}
    (out / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    from model.tokenizers import load_image_tokenizer

    palette = load_image_tokenizer(preset="palette")
    grid = "".join(
        f'<figure><img src="{png_url(img)}"><figcaption>{html.escape(p["text"])}<br>read back: '
        f'{p["hair_color"]}, {"smiling" if p["smiling"] else "not smiling"}</figcaption></figure>'
        for p, img in zip(examples["prompts"], examples["prompt_images"]))
    faces = np.asarray(palette.decode(examples["heldout_codes"].astype(np.int64)))
    answers = examples["answers"]["attributes"]
    held = []
    for i, face in enumerate(faces):
        said = [a for a in answers if a["key"] == examples.get("heldout_keys", [None] * len(faces))[i]]
        text = "; ".join(f"{a['question']} {a['value']} (label {a['label']})" for a in said[:6])
        held.append(f'<figure><img src="{png_url(face)}"><figcaption>{html.escape(text)}</figcaption></figure>')
    caps = "".join(f"<li><b>{html.escape(c['caption'])}</b><br><small>{html.escape(c['references'][0])}</small></li>"
                   for c in examples["captions"])
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Talk2Face signal experiment</title>
<style>body{{font-family:sans-serif;margin:20px}} figure{{display:inline-block;width:150px;margin:4px;vertical-align:top;font-size:10px}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:3px 6px}}</style></head><body>
<h1>A model that learns from the shards</h1>
<p>train: {html.escape(json.dumps(report.get("train", {}).get("tasks")))}, {report.get("train", {}).get("steps")} steps,
{report.get("train", {}).get("seconds")} s</p>
<h2>Figures (held-out test split)</h2><table><tr><th>decoding</th><th>figure</th><th>value</th><th>chance</th><th>target</th><th></th><th>n</th></tr>
{_figure_rows(report["figures"])}</table>
{_ceiling_note(report["figures"])}
<h2>Learning curves</h2>{svg_curves(series)}
<h2>Text &rarr; face (palette-decoded)</h2>{grid}
<h2>Held-out faces and the answers generated for them</h2>{''.join(held)}
<h2>Held-out captions (generated, then a reference)</h2><ul>{caps}</ul></body></html>"""
    (out / "report.html").write_text(page, encoding="utf-8")


def render_docs(report_dir: Path, docs: Path) -> list[Path]:
    """PNG copies for the README: the prompt grid (from report.html) and the learning curves (from report.json)."""
    import re

    from PIL import Image, ImageDraw

    docs.mkdir(parents=True, exist_ok=True)
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    section = page.split("<h2>Text &rarr; face", 1)[1].split("<h2>", 1)[0]
    found = re.findall(r'<img src="data:image/png;base64,([^"]+)"><figcaption>(.*?)<br>read back: (.*?)</figcaption>', section)
    cell, cols = 128, 5
    rows = (len(found) + cols - 1) // cols
    grid = Image.new("RGB", (cols * cell, rows * (cell + 30)), "white")
    draw = ImageDraw.Draw(grid)
    for i, (data, text, seen) in enumerate(found):
        x, y = (i % cols) * cell, (i // cols) * (cell + 30)
        grid.paste(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB").resize((cell, cell)), (x, y))
        words = html.unescape(text).replace("The ", "").replace("This ", "")
        draw.text((x + 2, y + cell + 1), words[:24], fill="black")
        draw.text((x + 2, y + cell + 14), ("-> " + seen)[:24], fill="#a00")
    faces = docs / "signal_faces.png"
    grid.save(faces)
    series = {k: [tuple(p) for p in v] for k, v in json.loads((report_dir / "report.json").read_text())["curves"].items()}
    w, h, pad = 640, 300, 40
    chart = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(chart)
    points = [p for line in series.values() for p in line]
    x1, y0, y1 = max(s for s, _ in points), min(v for _, v in points), max(v for _, v in points)
    for i, (name, line) in enumerate(sorted(series.items())):
        xy = [(pad + (w - 2 * pad) * s / x1, h - pad - (h - 2 * pad) * (v - y0) / max(1e-9, y1 - y0)) for s, v in line]
        draw.line(xy, fill=COLOURS[i % len(COLOURS)], width=2)
        draw.text((w - 200, pad + 14 * i), name, fill=COLOURS[i % len(COLOURS)])
    draw.text((pad, pad - 14), f"loss {y1:.2f}", fill="black")
    draw.text((pad, h - pad + 4), f"{y0:.2f}    step 0 .. {x1}", fill="black")
    curve = docs / "signal_curve.png"
    chart.save(curve)
    return [faces, curve]


def markdown_table(report: dict[str, Any]) -> str:
    """The report's figures as a Markdown table (for bench/RESULTS.md)."""
    lines = ["| decoding | figure | value | chance | target | met | n |", "|---|---|---|---|---|---|---|"]
    for group, name, fig in _targeted(report["figures"]):
        value = "n/a" if fig["value"] is None else f"{fig['value']:.3g}"
        lines.append(f"| {group} | {name} | {value} | {fig['chance']:.3g} | {fig['target']} | "
                     f"{'yes' if fig['met'] else '**no**'} | {fig['n']} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m pipeline.signal_report signal docs: the README's PNGs and the RESULTS table
    import sys

    folder = Path(sys.argv[1])
    print(markdown_table(json.loads((folder / "report.json").read_text())))
    if len(sys.argv) > 2:
        print(*render_docs(folder, Path(sys.argv[2])))
