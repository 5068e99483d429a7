"""Progress of a build: Beam metrics per stage, and a log line with the rate every N elements.

Each DoFn owns a `StageMeter`: it counts elements (``<stage>.<unit>``) and the milliseconds spent
in its own work (``<stage>.msec``, timed before results are yielded, so fused downstream steps are
not counted), as Beam counters in the ``talk2face`` namespace, and logs
``LoadFaces: 2000 images, 85.3 images/s`` from each worker every `every` elements.
`metrics_table` reads the counters back from a finished pipeline for the end-of-build report.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

NAMESPACE = "talk2face"
T = TypeVar("T")
logger = logging.getLogger("pipeline")


class StageMeter:
    """Elements and time of one stage in this worker, as Beam counters and a periodic log line."""

    def __init__(self, stage: str, unit: str, every: int = 1000) -> None:
        self.stage, self.unit, self.every = stage, unit, max(1, every)
        self.elements = Metrics.counter(NAMESPACE, f"{stage}.{unit}")
        self.msec = Metrics.counter(NAMESPACE, f"{stage}.msec")
        self.count = 0
        self.started = time.perf_counter()
        self.busy = 0.0

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - start
            self.busy += spent
            self.msec.inc(int(round(spent * 1000)))

    def timed_iter(self, items: Iterable[T]) -> Iterator[T]:
        """`items`, timing only the work of producing each one (not what the consumer does with it)."""
        iterator = iter(items)
        while True:
            with self.timed():
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item

    def add(self, n: int = 1) -> None:
        before = self.count
        self.count += n
        self.elements.inc(n)
        if self.count // self.every > before // self.every:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            logger.info("%s: %d %s in this worker, %.1f %s/s (%.1f s busy)",
                        self.stage, self.count, self.unit, self.count / elapsed, self.unit, self.busy)


def counter(name: str) -> Any:
    """A ``talk2face`` Beam counter (reasons, cache hits)."""
    return Metrics.counter(NAMESPACE, name)


def metrics_table(result: Any) -> dict[str, int]:
    """The committed ``talk2face`` counters of a finished pipeline; {} where the runner reports none."""
    try:
        query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    except (NotImplementedError, AttributeError) as err:  # the DaskRunner has no metrics
        logger.info("this runner reports no metrics (%s)", err)
        return {}
    table: dict[str, int] = {}
    for item in query.get("counters", []):
        value = item.committed if item.committed is not None else item.attempted
        table[item.key.metric.name] = table.get(item.key.metric.name, 0) + int(value or 0)
    return dict(sorted(table.items()))


def setup_logging(level: int = logging.INFO) -> None:
    """Log INFO lines (stage rates) to stderr, with Beam's and Dask's own chatter at WARNING.

    ``force``: importing Beam already logs a warning, which configures the root logger at WARNING.
    """
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("apache_beam", "distributed", "asyncio", "botocore", "s3fs", "aiobotocore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
