"""The text tokenizer: BERT-base-uncased WordPiece, built with the `tokenizers` library.

Text ids are those of BERT-base-uncased (30,522 tokens, vocabulary in model/assets, checked by
md5 when loaded): BertNormalizer (lower case, accents stripped, control characters dropped, CJK
characters split), BertPreTokenizer (split on white space and punctuation), WordPiece with `##`
continuations. `encode` adds no special tokens: the sequence builder places [CLS] and [SEP].

    >>> TextTokenizer().encode("cacd age: 37;")
    [6187, 19797, 2287, 1024, 4261, 1025]

`digits=True` splits numbers into single digits ("37" -> "3", "7"), the fix the Talk2Face paper
suggests for age estimation; it changes the ids of every number, so a model trains and infers
with one setting. Off by default (the released model's tokenisation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

VOCAB_FILE = "bert-base-uncased-vocab.txt"
VOCAB_MD5 = "64800d5d8528ce344256daf115d4965e"
PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"

# BERT's clean-up of decoded text (transformers' clean_up_tokenization): no space before
# punctuation and inside English contractions.
_CLEANUPS = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
             (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


@lru_cache(maxsize=1)
def load_vocab() -> dict[str, int]:
    """BERT-base-uncased's vocabulary, token -> id, from model/assets (md5-checked)."""
    asset = resources.files("model").joinpath("assets", VOCAB_FILE)
    data = asset.read_bytes()
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if md5 != VOCAB_MD5:
        raise ValueError(
            f"model/assets/{VOCAB_FILE} is not BERT-base-uncased's vocabulary (md5 {md5}, expected {VOCAB_MD5}); "
            f"restore it with `git checkout -- model/assets/{VOCAB_FILE}` or reinstall the package"
        )
    tokens = data.decode("utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    return {token: i for i, token in enumerate(tokens)}


class TextTokenizer:
    """BERT-base-uncased WordPiece: text <-> ids 0..30521 (no special tokens added)."""

    def __init__(self, digits: bool = False) -> None:
        vocab = load_vocab()
        self.digits = digits
        self.vocab_size = len(vocab)
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (
            vocab[t] for t in (PAD, UNK, CLS, SEP, MASK))
        self.special_ids = frozenset((self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id))
        tokenizer = Tokenizer(models.WordPiece(vocab, unk_token=UNK, max_input_chars_per_word=100))
        tokenizer.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True)
        pre: pre_tokenizers.PreTokenizer = pre_tokenizers.BertPreTokenizer()
        if digits:
            pre = pre_tokenizers.Sequence([pre, pre_tokenizers.Digits(individual_digits=True)])
        tokenizer.pre_tokenizer = pre
        tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # clean-up below, on the whole text
        self._tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        """Ids of `text`, without [CLS] / [SEP]."""
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Ids of each text (in parallel threads), without [CLS] / [SEP]."""
        return [e.ids for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def tokens(self, text: str) -> list[str]:
        """The WordPiece strings of `text` (`##` marks a continuation), for inspection."""
        return self._tokenizer.encode(text, add_special_tokens=False).tokens

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`: special tokens skipped, `##` pieces joined, BERT's spacing clean-up applied."""
        kept = [int(i) for i in ids if int(i) not in self.special_ids]
        bad = [i for i in kept if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"ids {bad[:5]} are not text ids (0..{self.vocab_size - 1}); split image ids off "
                             "first with model.tokenizers.vocab.split_ids")
        text = self._tokenizer.decode(kept, skip_special_tokens=False)
        for dirty, clean in _CLEANUPS:
            text = text.replace(dirty, clean)
        return text

    def token_to_id(self, token: str) -> int | None:
        """Id of a WordPiece string, or None if it is not in the vocabulary."""
        return self._tokenizer.token_to_id(token)

    def id_to_token(self, token_id: int) -> str | None:
        """WordPiece string of an id, or None if out of range."""
        return self._tokenizer.id_to_token(token_id)

    def __repr__(self) -> str:
        return f"TextTokenizer(bert-base-uncased, vocab_size={self.vocab_size}, digits={self.digits})"


def load_text_tokenizer() -> TextTokenizer:
    """The project's text tokenizer: BERT-uncased WordPiece, digits kept whole (as the released model saw them)."""
    return TextTokenizer(digits=False)
