"""Every converter declares its source and terms; `python -m converters list` shows them; bad terms are refused."""

from __future__ import annotations

import importlib

import pytest

import converters
from converters.__main__ import main as converters_main
from converters.base import registry
from schemas.source import TERMS_CLASSES, Source, TermsError, parse_accept_terms, select_by_terms


def test_every_builtin_converter_declares_a_source() -> None:
    converters.available()
    missing = [key for key, cls in registry().items() if cls.source is None and cls.__module__.startswith("converters.")]
    assert missing == []
    for key, cls in registry().items():
        if cls.source is None:
            continue
        assert cls.source.terms_class in TERMS_CLASSES, key
        assert cls.source.citation.lstrip().startswith("@"), key
        assert cls.source.homepage.startswith("http"), key
        doc = importlib.import_module(cls.__module__).__doc__ or ""
        assert "not re-checked online" in " ".join(doc.split()) and cls.source.terms_url in " ".join(doc.split()), key


def test_list_shows_homepage_and_terms(capsys: pytest.CaptureFixture[str]) -> None:
    assert converters_main(["list"]) == 0
    out = capsys.readouterr().out
    assert "terms:  [cc-by-4.0]" in out  # FairFace
    assert "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html" in out


def test_source_refuses_an_unknown_terms_class_and_a_non_bibtex_citation() -> None:
    good = dict(name="X", homepage="https://x", citation="@misc{x}", terms="research only", terms_url="https://x",
                terms_class="research-only")
    assert Source(**good).hf_license == "other"
    with pytest.raises(TermsError, match="unknown terms class 'free'.*research-only"):
        Source(**(good | {"terms_class": "free"}))
    with pytest.raises(TermsError, match="BibTeX"):
        Source(**(good | {"citation": "Liu et al. 2015"}))
    with pytest.raises(TermsError, match="terms_url is empty"):
        Source(**(good | {"terms_url": " "}))


def test_select_by_terms_keeps_accepted_and_says_why_the_rest_is_left_out() -> None:
    sources = {key: cls.source for key, cls in registry().items() if key in ("celeba", "fairface", "affectnet")}
    sources["plugin"] = None
    kept, left_out = select_by_terms(sources, parse_accept_terms("cc-by-4.0, research-only"))
    assert kept == ["celeba", "fairface"]
    assert set(left_out) == {"affectnet", "plugin"}
    assert "research-only-agreement" in left_out["affectnet"] and "declares no source" in left_out["plugin"]
    assert select_by_terms(sources, None) == (sorted(sources), {})
    with pytest.raises(TermsError, match="keeps none.*their terms classes are: cc-by-4.0, research-only"):
        select_by_terms({k: sources[k] for k in ("celeba", "fairface")}, ["mit"])
    with pytest.raises(TermsError, match="unknown terms class 'research'"):
        parse_accept_terms("research")
