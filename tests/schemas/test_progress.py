"""track(): plain progress lines with rate and ETA off a terminal, a tqdm bar on one; items pass unchanged."""

from __future__ import annotations

import io

from schemas.progress import track


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    assert list(track(range(5), desc="scanning", unit="shard", stream=out, interval=0.0)) == [0, 1, 2, 3, 4]
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("scanning: 1/5 shards, ") and "shards/s" in lines[0] and "ETA" in lines[0]
    assert lines[-1].startswith("scanning: 5/5 shards") and lines[-1].endswith(" done") and "\r" not in out.getvalue()


def test_plural_of_a_unit_ending_in_ch() -> None:
    out = io.StringIO()
    list(track(iter(range(3)), total=3, desc="evaluate", unit="batch", stream=out, interval=0.0))
    assert out.getvalue().splitlines()[-1].startswith("evaluate: 3/3 batches, ") and "batches/s" in out.getvalue()


def test_a_tqdm_bar_on_a_terminal() -> None:
    out = _Terminal()
    assert list(track(["a", "b"], desc="generating", unit="face", stream=out)) == ["a", "b"]
    text = out.getvalue()
    assert "\r" in text and "generating: 100%" in text and "2/2" in text and "face/s" in text
