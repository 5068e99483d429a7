"""CelebAMask-HQ's ``CelebA-HQ-to-CelebA-mapping.txt``: which CelebA photo each CelebA-HQ image re-crops.

FORMATS.md section 11: a header line ``idx orig_idx orig_file``, then one row per CelebA-HQ image,
columns padded with several spaces; ``idx`` is the CelebA-HQ index (0..29999), ``orig_idx`` the
0-based CelebA index, ``orig_file`` the CelebA file name, 1-based (``orig_idx + 1``, 6 digits)::

    0           119613      119614.jpg

PGGAN's ``image_list.txt`` has the same first three columns and two md5 columns more; extra columns
are ignored. A row is refused, with a reason counted in `HqMapping.bad_rows`, when it has fewer than
three fields or a non-integer index (``malformed row``), an index outside the ranges above (``index
out of range``), a file name that is not ``orig_idx + 1`` (``file name disagrees with orig_idx``), or
an ``idx`` already mapped (``duplicate idx``, the first row wins). Not a converter: the build reads it
once, to give CelebA-HQ records the photo id of their CelebA original.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAPPING_FILE = "CelebA-HQ-to-CelebA-mapping.txt"
HQ_IMAGES = 30_000
CELEBA_IMAGES = 202_599
HEADER = ("idx", "orig_idx", "orig_file")


@dataclass
class HqMapping:
    """CelebA-HQ index -> CelebA file name, and what was refused (reason -> rows; first messages kept)."""

    source: str
    originals: dict[str, str] = field(default_factory=dict)
    bad_rows: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def refuse(self, reason: str, number: int, line: str) -> None:
        self.bad_rows[reason] = self.bad_rows.get(reason, 0) + 1
        if len(self.examples) < 5:
            self.examples.append(f"{self.source} line {number}: {reason}: {line[:100]!r}")


def parse_mapping(text: str, source: str = MAPPING_FILE) -> HqMapping:
    """The mapping in a file's text; never raises for a bad row (see the module docstring)."""
    mapping = HqMapping(source)
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields or tuple(fields[:3]) == HEADER:
            continue
        if len(fields) < 3 or not fields[0].isdecimal() or not fields[1].isdecimal():
            mapping.refuse("malformed row", number, raw)
            continue
        idx, orig = int(fields[0]), int(fields[1])
        if not (0 <= idx < HQ_IMAGES and 0 <= orig < CELEBA_IMAGES):
            mapping.refuse("index out of range", number, raw)
            continue
        name = f"{orig + 1:06d}.jpg"
        if fields[2] != name:
            mapping.refuse("file name disagrees with orig_idx", number, raw)
            continue
        if str(idx) in mapping.originals:
            mapping.refuse("duplicate idx", number, raw)
            continue
        mapping.originals[str(idx)] = name
    return mapping
