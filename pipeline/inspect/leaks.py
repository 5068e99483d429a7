"""The leak-free split work of a build, as the inspector shows it: stats.json's counts and OUT/leaks.jsonl.

`leak_summary` gathers what stats.json says (schemas/stats.py): per dataset the records ``moved`` to
a more held-out split and those ``leaking`` across splits (by cause), CelebA-HQ ``photo_links`` and
the records with a photo id and a person id; at the top ``near_duplicates``, ``leaks`` and the
build's ``celeba_hq_mapping``. `format_leaks` prints it; `read_clusters` takes the merged clusters
from ``OUT/leaks.jsonl`` (one JSON object per line: cluster, split, across_splits, members, edges)
and `render_leaks` draws them in the HTML report, one row of faces per cluster.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.inspect.corpus import Corpus, Decoder, InspectError
from pipeline.inspect.sheet import load_faces

LEAKS_FILE = "leaks.jsonl"  # pipeline.leaks.LEAKS_FILE; not imported, the inspector never loads Beam
CAUSES = ("same_face", "same_photo", "near_duplicate")
CAUSE_HEADERS = {"same_face": "same face", "same_photo": "same photo", "near_duplicate": "near-dup"}
ID_KINDS = ("photo_id", "person_id")
DEFAULT_MAX_CLUSTERS = 20
CLUSTER_THUMB = 112  # face size in the report's cluster rows, pixels


def leak_summary(stats: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The leak-free split counts of a stats.json as a JSON-ready dict; None when it has none (an older build)."""
    if not stats or "leaks" not in stats:
        return None
    datasets = []
    for name, d in sorted(stats["datasets"].items()):
        datasets.append({
            "dataset": name,
            "moved": {c: int(d.get("moved", {}).get(c, 0)) for c in CAUSES},
            "leaking": {c: int(d.get("leaking", {}).get(c, 0)) for c in CAUSES},
            "photo_links": dict(sorted(d.get("photo_links", {}).items())),
            "ids": {k: int(d.get("ids", {}).get(k, 0)) for k in ID_KINDS},
        })
    return {
        "policy": stats["leaks"].get("policy"),
        "leaks": dict(stats["leaks"]),
        "near_duplicates": dict(stats.get("near_duplicates") or {}),
        "celeba_hq_mapping": (stats.get("build") or {}).get("celeba_hq_mapping"),
        "datasets": datasets,
    }


def leak_rows(leaks: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the per-dataset table: records moved and leaking by cause, ids, photo links."""
    datasets = leaks["datasets"]
    show_leaking = leaks["policy"] == "report" or any(any(d["leaking"].values()) for d in datasets)
    what = ["moved"] + (["leaking"] if show_leaking else [])
    headers = ["dataset", *[f"{w}: {CAUSE_HEADERS[c]}" for w in what for c in CAUSES], "photo ids", "person ids",
               "CelebA-HQ photo links"]
    rows = [[d["dataset"], *[d[w][c] for w in what for c in CAUSES], d["ids"]["photo_id"], d["ids"]["person_id"],
             ", ".join(f"{reason} {n:,}" for reason, n in d["photo_links"].items()) or "-"] for d in datasets]
    return headers, rows


def leak_notes(leaks: Mapping[str, Any]) -> list[str]:
    """One-line notes: the split policy, near-duplicate search, clusters, and the CelebA-HQ mapping file."""
    policy = leaks["policy"]
    meaning = ("clusters moved to their most held-out split" if policy == "merge"
               else "official splits kept, leaks only counted")
    notes = [f"split policy: {policy} ({meaning})"]
    nd = leaks["near_duplicates"]
    if nd:
        notes.append(f"near-duplicates: within {nd.get('threshold')} bits of a 64-bit perceptual hash; "
                     f"confirmed pairs {nd.get('pairs', 0):,} of {nd.get('compared_pairs', 0):,} compared; "
                     f"hot buckets left uncompared {nd.get('hot_buckets', 0):,} ({nd.get('hot_bucket_entries', 0):,} entries)")
    lk = leaks["leaks"]
    notes.append(f"clusters: {lk.get('clusters', 0):,} ({lk.get('clusters_across_splits', 0):,} across splits), "
                 f"{lk.get('clustered_samples', 0):,} samples clustered, {lk.get('photo_pairs', 0):,} photo pairs; "
                 f"each cluster a line of OUT/{LEAKS_FILE}")
    mapping = leaks["celeba_hq_mapping"]
    if not mapping:
        notes.append("CelebA-HQ mapping: not in stats.json")
    elif not mapping.get("file"):
        notes.append(f"CelebA-HQ mapping: NO MAPPING FILE FOUND ({mapping.get('note', 'CelebA-HQ records are not linked')})")
    else:
        bad = mapping.get("bad_rows") or {}
        refused = ", ".join(f"{reason} {n:,}" for reason, n in bad.items()) or "none"
        notes.append(f"CelebA-HQ mapping: {mapping['file']} ({mapping.get('rows_linked', 0):,} rows linked; "
                     f"refused rows: {refused})")
    return notes


def format_leaks(leaks: Mapping[str, Any] | None) -> list[str]:
    """The summary's leak block as terminal lines (a title, the per-dataset table, the notes)."""
    from pipeline.inspect.summary import format_table

    out = ["leak-free splits (stats.json)"]
    if leaks is None:
        return out + ["  not in stats.json: built before photo ids and near-duplicates; rebuild to count leaks"]
    return out + [format_table(*leak_rows(leaks)), *(f"  {note}" for note in leak_notes(leaks))]


# --------------------------------------------------------------------------- clusters


def read_clusters(corpus: Corpus, limit: int = DEFAULT_MAX_CLUSTERS) -> dict[str, Any]:
    """Up to `limit` clusters of OUT/leaks.jsonl (those across splits first), with the file's totals.

    Returns ``{"present", "total", "across_splits", "clusters", "error"}``; a missing file is
    ``present: False``; a line that is not a cluster object is skipped and counted in ``bad_lines``.
    """
    path = corpus.path(LEAKS_FILE)
    result: dict[str, Any] = {"present": False, "total": 0, "across_splits": 0, "bad_lines": 0, "clusters": []}
    if not corpus.fs.exists(path):
        return result
    with corpus.fs.open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    clusters = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            cluster = json.loads(line)
        except json.JSONDecodeError:
            cluster = None
        if not isinstance(cluster, dict) or not isinstance(cluster.get("members"), list):
            result["bad_lines"] += 1
            continue
        clusters.append(cluster)
    result.update(present=True, total=len(clusters), across_splits=sum(bool(c.get("across_splits")) for c in clusters))
    ranked = sorted(clusters, key=lambda c: not c.get("across_splits"))  # stable: file order within each group
    result["clusters"] = ranked[: max(0, limit)]
    return result


def cluster_faces(corpus: Corpus, table: pa.Table, clusters: Sequence[Mapping[str, Any]],
                  decode: Decoder | None = None) -> dict[str, Any]:
    """The faces (PIL images) of every member of `clusters`, by key, from the shards the manifest names."""
    keys = sorted({m["key"] for c in clusters for m in c["members"]})
    if not keys:
        return {}
    rows = table.filter(pc.is_in(table["key"], value_set=pa.array(keys, pa.string()))).select(["key", "shard"])
    shards = dict(zip(rows["key"].to_pylist(), rows["shard"].to_pylist()))
    missing = [k for k in keys if k not in shards]
    if missing:
        raise InspectError(f"{len(missing)} sample(s) of {LEAKS_FILE} are not in the manifest (first {missing[0]}); "
                           "run --validate")
    return load_faces(corpus, shards, decode)


def _data_uri(image: Any, size: int) -> str:
    buf = io.BytesIO()
    image.resize((size, size)).save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


_CLUSTER_CSS = (".cluster{display:flex;gap:8px;align-items:flex-start;border-bottom:1px solid #eee;padding:6px 0}"
                ".cluster .head{width:170px;flex:none}.cluster figure{margin:0;width:" + str(CLUSTER_THUMB + 8) + "px}"
                ".cluster figcaption{font-size:11px;word-break:break-all}.moved{color:#a40}")


def render_leaks(leaks: Mapping[str, Any] | None, clusters: Mapping[str, Any] | None = None,
                 faces: Mapping[str, Any] | None = None, note: str = "") -> str:
    """The report's leak section: the per-dataset table, the notes and one row of faces per cluster."""
    from pipeline.inspect.report import _html_table as html_table

    esc = html.escape
    out = [f"<style>{_CLUSTER_CSS}</style>", "<h2>Leak-free splits</h2>"]
    if leaks is None:
        out.append('<p class="warn">not in stats.json: built before photo ids and near-duplicates; rebuild to count '
                   "leaks</p>")
    else:
        out.append(html_table(*leak_rows(leaks)))
        out += [f'<p class="{"warn" if "NO MAPPING" in n else ""}">{esc(n)}</p>' for n in leak_notes(leaks)]
    out.append(f"<h3>Merged clusters (OUT/{LEAKS_FILE})</h3>")
    if clusters is None or not clusters["present"]:
        out.append(f'<p class="note">no {LEAKS_FILE} in this build</p>')
        return "\n".join(out)
    shown = clusters["clusters"]
    out.append(f'<p class="note">{len(shown):,} of {clusters["total"]:,} clusters shown '
               f'({clusters["across_splits"]:,} across splits, listed first)'
               + (f'; {clusters["bad_lines"]} unreadable lines skipped' if clusters["bad_lines"] else "") + "</p>")
    if note:
        out.append(f'<p class="warn">{esc(note)}</p>')
    merge = leaks is not None and leaks["policy"] == "merge"
    faces = faces or {}
    for c in shown:
        causes = sorted({str(e[2]) for e in c.get("edges", []) if len(e) > 2})
        head = (f'<div class="head"><b>{"across splits" if c.get("across_splits") else "one split"}</b><br>'
                f'cluster split: {esc(str(c.get("split")))}<br>{len(c["members"])} samples<br>'
                f'{esc(", ".join(causes) or "-")}</div>')
        figures = []
        for m in c["members"]:
            split = esc(str(m.get("split")))
            if merge and m.get("split") != c.get("split"):
                split = f'<span class="moved">{split} → {esc(str(c.get("split")))}</span>'
            image = faces.get(m.get("key"))
            img = (f'<img alt="{esc(str(m.get("key")))}" width="{CLUSTER_THUMB}" height="{CLUSTER_THUMB}" '
                   f'src="{_data_uri(image, CLUSTER_THUMB)}">' if image is not None
                   else f'<div style="width:{CLUSTER_THUMB}px;height:{CLUSTER_THUMB}px;background:#eee"></div>')
            figures.append(f"<figure>{img}<figcaption>{esc(', '.join(m.get('datasets', [])))}<br>{split}<br>"
                           f"{esc(str(m.get('source_path')))}</figcaption></figure>")
        out.append(f'<div class="cluster">{head}{"".join(figures)}</div>')
    return "\n".join(out)
