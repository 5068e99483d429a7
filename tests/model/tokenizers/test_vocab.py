"""Tests of the unified text + image vocabulary (model/tokenizers/vocab.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import TextTokenizer, Vocabulary
from model.tokenizers import vocab as V


def test_layout_of_the_vocabulary() -> None:
    assert (V.TEXT_VOCAB_SIZE, V.IMAGE_OFFSET, V.IMAGE_CODEBOOK_SIZE, V.VOCAB_SIZE) == (30522, 30522, 1024, 31546)
    assert (V.PAD_ID, V.UNK_ID, V.CLS_ID, V.SEP_ID, V.MASK_ID) == (0, 100, 101, 102, 103)
    assert V.image_ids(0) == 30522 and V.image_ids(1023) == 31545


def test_specials_and_prompts_agree_with_the_text_tokenizer() -> None:
    tok = TextTokenizer()
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (
        V.PAD_ID, V.UNK_ID, V.CLS_ID, V.SEP_ID, V.MASK_ID)
    vocab = Vocabulary(text=tok)
    for prompt in V.PROMPTS:
        assert vocab.encode_prompt(prompt) == tok.encode(prompt) == list(V.PROMPT_IDS[prompt])
    assert vocab.encode_prompt("to image") == [2000, 3746]
    with pytest.raises(ValueError, match="to caption"):
        vocab.encode_prompt("to face")


def test_image_ids_round_trip_and_errors() -> None:
    codes = np.arange(1024, dtype=np.uint16).reshape(4, 256)
    ids = V.image_ids(codes)
    assert ids.dtype == np.int64 and ids.shape == (4, 256) and ids.min() == 30522 and ids.max() == 31545
    back = V.codes_from_ids(ids)
    assert back.dtype == np.uint16 and np.array_equal(back, codes)
    with pytest.raises(ValueError, match="0, 1024"):
        V.image_ids([1024])
    with pytest.raises(ValueError, match="integers"):
        V.image_ids(np.array([1.0]))
    with pytest.raises(ValueError, match="split_ids"):
        V.codes_from_ids([30522, 102])


def test_is_image_id() -> None:
    assert V.is_image_id(30522) is True and V.is_image_id(30521) is False and V.is_image_id(31546) is False
    assert V.is_image_id(np.array([0, 102, 30522, 31545, 31546])).tolist() == [False, False, True, True, False]


def test_split_ids_stops_at_sep_and_separates_kinds() -> None:
    text = [1037, 2450]  # "a woman"
    image = [30522 + 5, 30522 + 1023, 30522]
    ids = [V.CLS_ID, *text, *image, V.SEP_ID, 7592, 30530, V.PAD_ID]
    got_text, got_codes = V.split_ids(ids)
    assert got_text == text and got_codes.dtype == np.uint16 and got_codes.tolist() == [5, 1023, 0]
    all_text, all_codes = V.split_ids(ids, stop_at_sep=False)
    assert all_text == [*text, V.SEP_ID, 7592] and all_codes.tolist() == [5, 1023, 0, 8]
    empty_text, empty_codes = V.split_ids([])
    assert empty_text == [] and empty_codes.dtype == np.uint16 and empty_codes.size == 0
    with pytest.raises(ValueError, match="outside"):
        V.split_ids([31546])


def test_vocabulary_decodes_the_text_part() -> None:
    vocab = Vocabulary()
    ids = [*vocab.encode_text("a smiling woman."), *V.image_ids([1, 2, 3]).tolist(), V.SEP_ID, 7592]
    assert vocab.decode_text(ids) == "a smiling woman."
    assert vocab.size == 31546
    assert vocab.split_ids(ids)[1].tolist() == [1, 2, 3]
    assert vocab.codes_from_ids(vocab.image_ids([7])).tolist() == [7]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 1023), max_size=300))
def test_codes_survive_the_unified_vocabulary(codes: list[int]) -> None:
    ids = V.image_ids(np.array(codes, dtype=np.int64)).tolist()
    text, back = V.split_ids([*ids, V.SEP_ID])
    assert text == [] and back.tolist() == codes


def test_vocabulary_ids_are_defined_once_in_schemas() -> None:
    """The sampler's, the transformer's and the vocabulary's numbers are schemas.vocab's, not copies."""
    from model import sampling
    from model.transformer import Talk2FaceConfig
    from schemas import vocab as ids

    assert Talk2FaceConfig().vocab_size == ids.VOCAB_SIZE
    assert sampling.ImageConstraint().codes == ids.IMAGE_CODEBOOK_SIZE
    assert sampling.ImageConstraint().length == ids.IMAGE_TOKENS
    assert sampling.ImageConstraint().offset == ids.IMAGE_OFFSET
    assert sampling.TextConstraint().text_vocab == ids.TEXT_VOCAB_SIZE
    assert (sampling.SEP_ID, sampling.PAD_ID, V.SEP_ID, V.CLS_ID) == (ids.SEP_ID, ids.PAD_ID, ids.SEP_ID, ids.CLS_ID)
