"""Hostile shard tars built with tarfile, for the readers' fault tests (loader, inspect, evaluate).

Each case puts one bad member in front of a good sample, so a reader that copes reports that member
and a reader that extracts or trusts headers would write outside memory or allocate what a header
claims. `hostile_cases(root)` gives (name, tar bytes, the words the error must hold); paths a
careless reader would write to lie under `root` (see `escape_paths`).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np

from schemas.sample import ShardSample, SourceRef, TextEntry
from schemas.shard import tar_bytes

KEY = "0123456789abcdef0123456789abcdef"


def good_sample(key: str = KEY) -> dict[str, bytes]:
    """One valid sample as WebDataset fields."""
    sample = ShardSample(key=key, split="train", tokens=np.arange(256, dtype=np.uint16),
                         texts=(TextEntry("fake", "caption", "A person with short hair."),),
                         labels={"fake": {"age": 30}}, sources=(SourceRef("fake", "1.jpg", "fake/1.jpg", "train"),))
    return sample.to_wds()


def _member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, link, len(data) if kind == tarfile.REGTYPE else 0, 0o644
    return info


def with_members(members: list[tuple[tarfile.TarInfo, bytes]], sample: dict[str, bytes] | None = None) -> bytes:
    """A tar holding `members` first, then the members of one good sample."""
    buf = io.BytesIO()
    good_tar = io.BytesIO(tar_bytes([sample or good_sample()]))
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar, tarfile.open(fileobj=good_tar) as good:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
        for info in good.getmembers():
            tar.addfile(info, good.extractfile(info))
    return buf.getvalue()


def huge_header(name: str, claimed: int) -> bytes:
    """A tar whose one member header claims `claimed` bytes (GNU base-256 size), followed by 4 kB of data."""
    info = tarfile.TarInfo(name)
    info.size = claimed
    return info.tobuf(format=tarfile.GNU_FORMAT) + b"x" * 4096


def _json_sample(data: bytes) -> dict[str, bytes]:
    fields = good_sample()
    fields["json"] = data
    return fields


def escape_paths(root: Path) -> list[Path]:
    """Where a reader that extracts would write the cases' members."""
    return [root / "escaped.json", root / "absolute" / "evil.json"]


def hostile_cases(root: Path) -> list[tuple[str, bytes, list[str]]]:
    """(case, tar bytes, words its error names); `root` is the parent of the reader's working folder."""
    absolute = str(root / "absolute" / "evil.json")
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        ("dotdot", with_members([(_member("../escaped.json", b"{}"), b"{}")]), ["../escaped.json", "path in its name"]),
        ("absolute", with_members([(_member(absolute, b"{}"), b"{}")]), [absolute, "path in its name"]),
        ("symlink", with_members([(_member(f"{KEY}.json", kind=tarfile.SYMTYPE, link="/etc/passwd"), b"")]),
         [f"{KEY}.json", "symlink"]),
        ("hardlink", with_members([(_member(f"{KEY}.jpg", kind=tarfile.LNKTYPE, link="../escaped.json"), b"")]),
         [f"{KEY}.jpg", "hard link"]),
        ("device", with_members([(_member(f"{KEY}.jpg", kind=tarfile.CHRTYPE), b"")]), [f"{KEY}.jpg", "device file"]),
        ("huge-size", huge_header(f"{KEY}.json", 1 << 40), [f"{KEY}.json", "claims 1,099,511,627,776 bytes"]),
        ("deep-json", tar_bytes([_json_sample(deep)]), [KEY, "nests deeper"]),
        ("huge-json", tar_bytes([_json_sample(b'{"a": "' + b"x" * (2 << 20) + b'"}')]), [KEY, "over the"]),
        ("non-utf8-json", tar_bytes([_json_sample(json.dumps({"key": KEY}).encode()[:-1] + b'"\xff\xfe"}')]),
         [KEY, "not UTF-8"]),
        ("bad-tokens", tar_bytes([{**good_sample(), "tokens.npy": b"\x93NUMPY garbage"}]), [KEY, "tokens.npy"]),
        ("truncated", tar_bytes([good_sample()])[:1200], ["truncated"]),
        ("foreign", b"PK\x03\x04 a zip file, not a tar" * 40, ["not an uncompressed tar"]),
    ]
