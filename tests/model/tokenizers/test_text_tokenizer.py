"""Tests of the BERT-base-uncased WordPiece text tokenizer (model/tokenizers/text.py)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import TextTokenizer
from model.tokenizers import text as tt


@lru_cache(maxsize=1)
def shared() -> TextTokenizer:
    return TextTokenizer()


@pytest.fixture
def tok() -> TextTokenizer:
    return shared()


def test_vocabulary_size_and_special_ids(tok: TextTokenizer) -> None:
    assert tok.vocab_size == 30522
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 100, 101, 102, 103)
    assert tok.id_to_token(101) == "[CLS]" and tok.token_to_id("[SEP]") == 102


def test_known_ids(tok: TextTokenizer) -> None:
    assert tok.encode("hello") == [7592]
    assert tok.encode("Hello") == [7592]  # uncased
    assert tok.encode("to image") == [2000, 3746]
    assert tok.tokens("to caption") == ["to", "capt", "##ion"]
    assert tok.encode("cacd age: 37;") == [6187, 19797, 2287, 1024, 4261, 1025]


def test_no_special_tokens_added(tok: TextTokenizer) -> None:
    ids = tok.encode("a smiling woman")
    assert ids and not set(ids) & tok.special_ids
    assert tok.encode("") == []


def test_spacing_around_punctuation_carries_no_information(tok: TextTokenizer) -> None:
    assert tok.encode("smiling: true;") == tok.encode("smiling : true ;") == tok.encode("smiling:true;")


def test_accents_stripped(tok: TextTokenizer) -> None:
    assert tok.encode("café") == tok.encode("cafe") == tok.encode("CAFÉ")
    assert tok.encode("Zoë Saldaña") == tok.encode("zoe saldana")


def test_literal_special_strings_are_plain_text(tok: TextTokenizer) -> None:
    # caption text can never inject a [SEP] or [CLS] into a training sequence
    assert not set(tok.encode("a [SEP] b [CLS]")) & {tok.sep_id, tok.cls_id}


def test_decode_joins_wordpieces_and_skips_specials(tok: TextTokenizer) -> None:
    ids = tok.encode("A woman with blonde hair, who isn't smiling.")
    assert tok.decode([101, *ids, 102, 0, 0]) == "a woman with blonde hair, who isn't smiling."
    assert tok.decode(tok.encode("unaffable")) == "unaffable"  # three pieces joined back
    with pytest.raises(ValueError, match="split_ids"):
        tok.decode([7592, 30522])


def test_digits_option_splits_numbers() -> None:
    plain, digits = TextTokenizer(), TextTokenizer(digits=True)
    assert plain.tokens("age: 37;") == ["age", ":", "37", ";"]
    assert digits.tokens("age: 37;") == ["age", ":", "3", "7", ";"]
    assert digits.encode("37") == [digits.token_to_id("3"), digits.token_to_id("7")]
    assert digits.decode(digits.encode("age 1990")) == "age 1 9 9 0"  # WordPiece has no digit continuation
    assert digits.encode("smiling: true;") == plain.encode("smiling: true;")  # only numbers change


def test_encode_batch_matches_encode(tok: TextTokenizer) -> None:
    texts = ["celeba smiling: true; young: false;", "", "a man with a beard.", "fairface age: 20-29;"]
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["smiling", "true", "false", "age", ":", ";", "20-29", "woman", "hair",
                                 "black", "a", "with", "more than 70", "0.50", "rosy brown"]), max_size=12))
def test_decode_inverts_encode_on_normalised_text(words: list[str]) -> None:
    tok = shared()
    text = " ".join(words)
    assert tok.encode(tok.decode(tok.encode(text))) == tok.encode(text)


def test_damaged_vocabulary_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    real = Path(tt.__file__).parents[1] / "assets" / tt.VOCAB_FILE
    (assets / tt.VOCAB_FILE).write_bytes(real.read_bytes().replace(b"hello\n", b"hullo\n"))

    class FakeResources:
        @staticmethod
        def files(package: str) -> Path:
            return tmp_path

    tt.load_vocab.cache_clear()
    monkeypatch.setattr(tt, "resources", FakeResources)
    try:
        with pytest.raises(ValueError, match="git checkout -- model/assets/bert-base-uncased-vocab.txt"):
            TextTokenizer()
    finally:
        tt.load_vocab.cache_clear()
