"""Where a dataset comes from and on what terms: the `Source` each converter declares, and the terms classes.

A converter declares ``source = Source(...)`` (converters/base.py): the dataset's homepage, its
BibTeX citation, its terms of use in one line, the page that states them, and a terms class, one
of `TERMS_CLASSES`. The class is what ``--accept-terms`` selects on and what the dataset card
groups sources by (schemas/card.py); the one line and the link are what a person reads before
using the corpus. The build records every source's terms in stats.json (``build.sources``, see
`as_record`), so the card and ``talk2face inspect`` show what the build was made under.

Terms classes (`TERMS_CLASSES`: class -> what it allows, and the Hugging Face license id):

* ``research-only``: non-commercial research and education, no agreement to sign;
* ``research-only-agreement``: non-commercial research, after signing the dataset's license
  agreement (EULA) with its authors;
* ``cc-by-4.0``, ``cc-by-nc-4.0``, ``cc-by-nc-sa-4.0``, ``mit``: the named public licence;
* ``custom``: terms of their own that fit none of the above: read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TERMS_CLASSES: dict[str, tuple[str, str]] = {
    "research-only": ("non-commercial research and education only", "other"),
    "research-only-agreement": ("non-commercial research only, after signing the authors' license agreement", "other"),
    "cc-by-4.0": ("Creative Commons Attribution 4.0: any use, with attribution", "cc-by-4.0"),
    "cc-by-nc-4.0": ("Creative Commons Attribution-NonCommercial 4.0", "cc-by-nc-4.0"),
    "cc-by-nc-sa-4.0": ("Creative Commons Attribution-NonCommercial-ShareAlike 4.0", "cc-by-nc-sa-4.0"),
    "mit": ("MIT licence: any use, with the copyright notice", "mit"),
    "custom": ("terms of the dataset's own: read them before any use", "other"),
}
"""terms class -> (what it allows in one line, the Hugging Face dataset-card ``license`` id)."""


class TermsError(ValueError):
    """A terms class that is not one of `TERMS_CLASSES`, or a source declared without its terms."""


def check_terms_class(name: str, where: str = "") -> str:
    """`name` if it is a known terms class; else TermsError listing the known ones."""
    if name not in TERMS_CLASSES:
        at = f"{where}: " if where else ""
        raise TermsError(f"{at}unknown terms class {name!r}; known classes: {', '.join(TERMS_CLASSES)}")
    return name


@dataclass(frozen=True)
class Source:
    """A dataset's origin and terms, as stated on its own pages.

    `terms` is the terms of use in one line, `terms_url` the page that states them in full,
    `terms_class` one of `TERMS_CLASSES`; `citation` a BibTeX entry (the paper to cite).
    """

    name: str  # the dataset's published name, e.g. "CelebA"
    homepage: str
    citation: str  # BibTeX
    terms: str  # one line
    terms_url: str
    terms_class: str

    def __post_init__(self) -> None:
        check_terms_class(self.terms_class, self.name)
        for field in ("name", "homepage", "citation", "terms", "terms_url"):
            if not getattr(self, field).strip():
                raise TermsError(f"source {self.name or '?'}: {field} is empty; state it from the dataset's own page")
        if not self.citation.lstrip().startswith("@"):
            raise TermsError(f"source {self.name}: citation must be a BibTeX entry (starting with @)")

    @property
    def hf_license(self) -> str:
        return TERMS_CLASSES[self.terms_class][1]

    def as_record(self) -> dict[str, str]:
        """The source as stats.json's ``build.sources.<key>`` holds it (and `from_record` reads it)."""
        return {"name": self.name, "homepage": self.homepage, "terms_class": self.terms_class, "terms": self.terms,
                "terms_url": self.terms_url, "citation": self.citation}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Source:
        return cls(**{k: str(record[k]) for k in ("name", "homepage", "citation", "terms", "terms_url", "terms_class")})


def parse_accept_terms(text: str) -> tuple[str, ...]:
    """``research-only,cc-by-4.0`` -> the classes, each checked; TermsError for an unknown one or none."""
    classes = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not classes:
        raise TermsError(f"--accept-terms needs one or more terms classes ({', '.join(TERMS_CLASSES)})")
    for name in classes:
        check_terms_class(name, "--accept-terms")
    return classes


def select_by_terms(
    sources: Mapping[str, Source | None], accept: Iterable[str] | None
) -> tuple[list[str], dict[str, str]]:
    """The dataset keys whose terms class is accepted, and the others with the reason they are left out.

    `accept` None keeps every key. A key without a declared source is left out whenever `accept`
    is given (its terms are unknown). TermsError when `accept` keeps none of `sources`.
    """
    if accept is None:
        return sorted(sources), {}
    wanted = set(accept)
    kept: list[str] = []
    left_out: dict[str, str] = {}
    for key in sorted(sources):
        source = sources[key]
        if source is None:
            left_out[key] = "its converter declares no source terms"
        elif source.terms_class in wanted:
            kept.append(key)
        else:
            left_out[key] = f"terms {source.terms_class} ({source.terms}) not in --accept-terms"
    if not kept:
        have = sorted({s.terms_class for s in sources.values() if s is not None})
        raise TermsError(
            f"--accept-terms {','.join(sorted(wanted))} keeps none of the datasets to build "
            f"({', '.join(sorted(sources))}); their terms classes are: {', '.join(have) or 'none declared'}"
        )
    return kept, left_out
