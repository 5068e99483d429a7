"""``talk2face inspect OUT``: the inspector's command line (summary, --show, --sheet, --validate, --report).

Returns its exit status: 0 success, 1 a validation found problems, 2 bad usage or unusable input.
The VQGAN decoder (for corpora without JPEGs) is the model's, loaded only when a face needs decoding.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.inspect.corpus import (
    DEFAULT_MAX_SHARDS,
    TEXT_BUDGET,
    InspectError,
    load_manifest,
    load_stats,
    open_corpus,
)
from pipeline.inspect.leaks import DEFAULT_MAX_CLUSTERS, cluster_faces, read_clusters
from pipeline.inspect.report import render_report
from pipeline.inspect.samples import find_samples, format_samples
from pipeline.inspect.sheet import contact_sheet, png_bytes
from pipeline.inspect.summary import format_summary, summarize
from pipeline.inspect.terms import format_terms, terms_rows
from pipeline.inspect.validate import format_validation, validate_corpus


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="talk2face inspect",
        description="Look inside a built corpus (OUT holds shards/, manifest/ and stats.json; a path or fsspec URL). "
        "Without a mode option: a summary from the manifest and stats.json, plus codebook usage from the "
        "build's token cache or a sample of shards.",
    )
    p.add_argument("out", metavar="OUT", help="the build's output folder, e.g. demo/out or gs://bucket/out")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--show", type=int, metavar="N", help="print N samples: key, split, shard, texts and labels")
    mode.add_argument("--sheet", metavar="FILE.png", help="write a contact sheet of faces with their texts")
    mode.add_argument("--validate", action="store_true",
                      help="stream every shard and check it against schemas/, the manifest and stats.json; "
                      "exit status 1 when a problem is found")
    mode.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")
    f = p.add_argument_group("filters (--show, --sheet, --report)")
    f.add_argument("--dataset", help="only samples with a text from this dataset (e.g. fairface)")
    f.add_argument("--split", help="only samples of this split (train, val, test)")
    f.add_argument("--grep", metavar="TEXT", help="only samples with a text containing TEXT (case-insensitive)")
    f.add_argument("--key", help="only the sample with this key (or key prefix)")
    s = p.add_argument_group("summary")
    s.add_argument("--max-shards", type=int, default=DEFAULT_MAX_SHARDS, metavar="N",
                   help=f"codebook usage reads N shards evenly spread over the corpus, or the same share of the "
                   f"token cache's buckets (default {DEFAULT_MAX_SHARDS}; 0 reads all, -1 skips the codebook)")
    s.add_argument("--tokens", choices=("auto", "cache", "shards"), default="auto",
                   help="where codebook usage reads codes: the token cache (OUT/cache or --token-cache) or the "
                   "shards' tokens.npy members; auto (default) takes the cache when there is one")
    s.add_argument("--token-cache", metavar="URL", help="the build's token cache when not OUT/cache")
    s.add_argument("--text-budget", type=int, default=TEXT_BUDGET, metavar="T",
                   help=f"count texts longer than T WordPiece tokens (default {TEXT_BUDGET}, the trainer's text_budget)")
    s.add_argument("--top", type=int, default=10, metavar="K", help="string labels: show the K most common values")
    c = p.add_argument_group("contact sheet (--sheet, --report)")
    c.add_argument("--n", type=int, default=32, help="faces on the sheet (default 32)")
    c.add_argument("--columns", type=int, default=8, help="faces per row (default 8)")
    c.add_argument("--max-clusters", type=int, default=DEFAULT_MAX_CLUSTERS, metavar="N",
                   help=f"--report: rows of merged clusters from OUT/leaks.jsonl, those across splits first "
                   f"(default {DEFAULT_MAX_CLUSTERS}; 0 shows none)")
    c.add_argument("--vqgan-preset", default="tiny-random",
                   help="decoder for corpora without JPEGs: an ImageTokenizer preset (default tiny-random, "
                   "for demo corpora)")
    c.add_argument("--vqgan-config", help="taming VQGAN config (YAML) for decoding tokens; with --vqgan-checkpoint")
    c.add_argument("--vqgan-checkpoint", help="taming VQGAN checkpoint for decoding tokens; with --vqgan-config")
    v = p.add_argument_group("validation")
    v.add_argument("--max-problems", type=int, default=50, metavar="N", help="problems printed (all with --json)")
    v.add_argument("--workers", type=int, default=1, metavar="N", help="scan shards in N processes (default 1)")
    v.add_argument("--progress", action="store_true", help="print progress per shard to stderr")
    return p


class _LazyDecoder:
    """A VQGAN decoder built on first use, so a corpus with JPEGs never loads one."""

    def __init__(self, preset: str, config: str | None, checkpoint: str | None):
        self.preset, self.config, self.checkpoint = preset, config, checkpoint
        self._tokenizer: Any = None

    def __call__(self, codes: Any) -> Any:
        if self._tokenizer is None:
            if bool(self.config) != bool(self.checkpoint):
                raise InspectError("pass --vqgan-config and --vqgan-checkpoint together")
            from model.tokenizers import load_image_tokenizer
            try:
                if self.config and self.checkpoint:
                    self._tokenizer = load_image_tokenizer(config=self.config, checkpoint=self.checkpoint)
                else:
                    self._tokenizer = load_image_tokenizer(preset=self.preset)
            except (OSError, ValueError, KeyError) as err:
                raise InspectError(f"cannot load the VQGAN decoder: {err}") from err
        return self._tokenizer.decode(codes)


def main(argv: Sequence[str] | None = None) -> int:
    """``talk2face inspect OUT [mode] [options]``; returns the exit status."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        return _run(args)
    except BrokenPipeError:  # `talk2face inspect OUT | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace) -> int:
    try:
        corpus = open_corpus(args.out)
        if args.validate:
            progress = (lambda line: print(line, file=sys.stderr)) if args.progress else None
            result = validate_corpus(corpus, progress, workers=args.workers)
            print(json.dumps(result.as_dict(), indent=2) if args.json else format_validation(result, args.max_problems))
            return 0 if result.ok else 1
        table = load_manifest(corpus)
        if args.show is not None:
            views = find_samples(table, args.show, dataset=args.dataset, split=args.split, grep=args.grep, key=args.key)
            print(json.dumps([vars(v) for v in views], indent=2, ensure_ascii=False) if args.json
                  else format_samples(views))
            return 0
        decoder = _LazyDecoder(args.vqgan_preset, args.vqgan_config, args.vqgan_checkpoint)
        if args.sheet:
            sheet, keys = contact_sheet(corpus, _filtered(table, args), n=args.n, dataset=args.dataset,
                                            split=args.split, decode=decoder, columns=args.columns)
            Path(args.sheet).write_bytes(png_bytes(sheet))
            info = {"file": args.sheet, "size": list(sheet.size), "keys": keys}
            print(json.dumps(info, indent=2) if args.json else f"wrote {args.sheet}: {len(keys)} faces, {sheet.size[0]}x{sheet.size[1]} px")
            return 0
        summary = summarize(corpus, budget=args.text_budget, top=args.top, max_shards=args.max_shards, table=table,
                                tokens=args.tokens, token_cache=args.token_cache)
        if args.report:
            try:
                sheet, keys = contact_sheet(corpus, _filtered(table, args), n=args.n, dataset=args.dataset,
                                                split=args.split, decode=decoder, columns=args.columns)
                png, note = png_bytes(sheet), f"{len(keys)} faces with their texts"
            except InspectError as err:
                png, note = None, f"no contact sheet: {err}"
            clusters = read_clusters(corpus, args.max_clusters)
            try:
                faces, faces_note = cluster_faces(corpus, table, clusters["clusters"], decoder), ""
            except InspectError as err:
                faces, faces_note = {}, f"cluster faces not drawn: {err}"
            Path(args.report).write_text(render_report(summary, png, note, clusters=clusters, cluster_faces=faces,
                                                       clusters_note=faces_note), encoding="utf-8")
            print(json.dumps({"file": args.report, "contact_sheet": png is not None}) if args.json
                  else f"wrote {args.report} ({note})")
            return 0
        stats, _ = load_stats(corpus)
        if args.json:
            print(json.dumps(summary | {"terms": terms_rows(stats or {})}, indent=2, ensure_ascii=False))
        else:
            print(format_summary(summary) + "\n\n" + format_terms(stats or {}))
        return 0
    except InspectError as err:
        print(f"talk2face inspect: {err}", file=sys.stderr)
        return 2


def _filtered(table: Any, args: argparse.Namespace) -> Any:
    """The manifest rows of the samples that --grep / --key select (all rows when neither is given)."""
    if not (args.grep or args.key):
        return table
    import pyarrow as pa
    import pyarrow.compute as pc

    views = find_samples(table, args.n, dataset=args.dataset, split=args.split, grep=args.grep, key=args.key)
    return table.filter(pc.is_in(table["key"], value_set=pa.array([v.key for v in views], pa.string())))


if __name__ == "__main__":
    sys.exit(main())
