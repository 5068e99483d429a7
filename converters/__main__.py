"""`python -m converters`: list the converters, preview what one makes of a folder, write fake data.

    python -m converters list
    python -m converters preview celeba /data/celeba --limit 5
    python -m converters fake celeba /tmp/raw/celeba --variant flat
    python -m converters fake-root /tmp/raw --scale 0.01 --seed 0
    python -m converters fake-root /tmp/raw --scale 0.01 --signal
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import converters
from converters.base import DatasetRoot, registry
from schemas import FaceRecord, Filtered


def _list() -> int:
    converters.available()
    rows = [cls.describe() for _, cls in sorted(registry().items())]
    width = max(len(r["key"]) for r in rows)
    for r in rows:
        splits = ", ".join(f"{s} <- {src}" for s, src in r["splits"].items())
        print(f"{r['key']:<{width}}  {r['text_kind']:<10}  prefix: {r['prefix'] or '-'}")
        print(f"{'':<{width}}  splits: {splits}")
        print(f"{'':<{width}}  reads:  {', '.join(r['native_files'])}")
        source = r["source"]
        if source is None:
            print(f"{'':<{width}}  source: NOT DECLARED (set `source = Source(...)` on the converter class)")
        else:
            print(f"{'':<{width}}  source: {source['homepage']}")
            print(f"{'':<{width}}  terms:  [{source['terms_class']}] {source['terms']} ({source['terms_url']})")
    return 0


def _preview(key: str, path: str, limit: int, show_all: bool, siblings: Sequence[str]) -> int:
    sibling_urls = dict(s.split("=", 1) for s in siblings)
    if not sibling_urls:  # datasets beside this one, as under an --input-root
        parent = Path(path).resolve().parent
        sibling_urls = {p.name: str(p) for p in parent.iterdir() if p.is_dir()} if parent.is_dir() else {}
    converter = converters.get(key)
    counts: collections.Counter[str] = collections.Counter()
    shown = 0
    for outcome in converter.records(DatasetRoot(path, key, sibling_urls)):
        if isinstance(outcome, FaceRecord):
            counts[f"written {outcome.split}"] += 1
            if shown < limit:
                shown += 1
                print(f"[{outcome.split}] {outcome.source_id}  ({outcome.source_path})" + (f"  box={outcome.box.as_list()}" if outcome.box else ""))
                for text in outcome.texts:
                    print(f"    {text.kind}: {text.text}")
        else:
            kind = "filtered" if isinstance(outcome, Filtered) else "rejected"
            counts[f"{kind}: {outcome.reason}"] += 1
            if show_all:
                print(f"[{kind}] {outcome.source_id}: {outcome.reason}  {outcome.detail}")
    print("\n" + json.dumps(dict(sorted(counts.items())), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m converters", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every converter with its text kind, splits and native files")
    p = sub.add_parser("preview", help="print the records and texts a converter makes from a folder")
    p.add_argument("key")
    p.add_argument("path", help="the dataset folder (local path or fsspec URL)")
    p.add_argument("--limit", type=int, default=5, help="records to print (default 5)")
    p.add_argument("--rejects", action="store_true", help="also print every filtered and rejected record")
    p.add_argument("--sibling", action="append", default=[], metavar="KEY=PATH",
                   help="folder of another dataset whose images this one uses (default: folders beside PATH)")
    f = sub.add_parser("fake", help="write a tiny fake copy of a dataset in its native format")
    f.add_argument("key")
    f.add_argument("path")
    f.add_argument("--variant", default=None)
    r = sub.add_parser("fake-root", help="write all 13 datasets at a scale of their real sizes, with expected.json")
    r.add_argument("out")
    r.add_argument("--scale", type=float, required=True, help="fraction of each dataset's real size (1 = full size)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--workers", type=int, default=2, help="processes drawing pictures (default 2)")
    r.add_argument("--signal", action="store_true",
                   help="draw every face from its labels and caption the face drawn (SignalPainter), so a model can learn")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _list()
        if args.command == "preview":
            return _preview(args.key, args.path, args.limit, args.rejects, args.sibling)
        if args.command == "fake-root":
            from converters.fakeroot import make_root

            painter = None
            if args.signal:
                from converters.fakeroot.signal import SignalPainter

                painter = SignalPainter()
            expected = make_root(Path(args.out), args.scale, args.seed, painter=painter, workers=args.workers)
            total = sum(d["read"] for d in expected["datasets"].values())
            print(f"wrote {len(expected['datasets'])} datasets ({total} records) and expected.json to {args.out}")
            return 0
        make = converters.fake_maker(args.key)
        make(Path(args.path)) if args.variant is None else make(Path(args.path), variant=args.variant)
        print(f"wrote a fake {args.key} to {args.path}")
        return 0
    except (KeyError, converters.ConverterError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
