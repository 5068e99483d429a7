"""Progress people can watch: a tqdm bar (rate, ETA) on a terminal, plain lines in a log.

`track(items, total, desc)` yields `items` unchanged. On a terminal (the stream is a TTY) it draws
a tqdm bar; otherwise it writes a plain line (``desc: 120/500 shards, 3.2 shards/s, ETA 119 s``) at
most every `interval` seconds and once at the end, so a CI log or a file shows progress without
carriage returns. Shared by every part of the project (the only package they all import), so a
long command of the corpus side and of the model side report alike.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

T = TypeVar("T")


def _plain(items: Iterable[T], total: int | None, desc: str, unit: str, stream: IO[str], interval: float) -> Iterator[T]:
    start = last = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= interval:
            last = now
            stream.write(_line(desc, done, total, unit, now - start) + "\n")
            stream.flush()
    stream.write(_line(desc, done, total, unit, time.monotonic() - start) + " done\n")
    stream.flush()


def _line(desc: str, done: int, total: int | None, unit: str, seconds: float) -> str:
    rate = done / seconds if seconds > 0 else 0.0
    count = f"{done}/{total}" if total is not None else f"{done}"
    eta = f", ETA {(total - done) / rate:.0f} s" if total is not None and rate > 0 and done < total else ""
    units = unit + ("es" if unit.endswith(("s", "x", "ch", "sh")) else "s")  # batches, not batchs
    return f"{desc}: {count} {units}, {rate:.1f} {units}/s{eta}"


def track(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it",
          stream: IO[str] | None = None, interval: float = 10.0) -> Iterator[T]:
    """`items`, with a progress bar on a terminal or plain progress lines otherwise (see the module docstring)."""
    out = stream if stream is not None else sys.stderr
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if getattr(out, "isatty", lambda: False)():
        from tqdm import tqdm

        yield from tqdm(items, total=total, desc=desc, unit=unit, file=out, dynamic_ncols=True)
        return
    yield from _plain(items, total, desc, unit, out, interval)
