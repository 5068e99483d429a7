"""The text protocol: format/parse round trip (property-based) and clear errors on malformed text."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import TextProtocolError, canonical, format_attributes, normalize_caption, parse_attributes

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
KEY = st.lists(WORD, min_size=1, max_size=3).map(" ".join)
STRING = st.one_of(
    # colour names, multi-word values ("true"/"false" alone are booleans: format refuses them as strings)
    st.lists(WORD, min_size=1, max_size=3).map(" ".join).filter(lambda s: s not in ("true", "false")),
    st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda t: f"{t[0]}-{t[1]}"),  # ranges: 20-29
    st.integers(0, 120).map(lambda n: f"more than {n}"),
)
VALUE = st.one_of(
    st.booleans(),
    st.integers(-10_000, 10_000),
    st.floats(-1000, 1000, allow_nan=False).map(lambda x: round(x, 2)),
    STRING,
)
PREFIX = st.sampled_from(["celeba", "fs2k", "affectnet", "rafdb", "expw", "cacd", "afad", "imdb", "wiki", "fairface"])


@settings(max_examples=3000, deadline=None)
@given(PREFIX, st.dictionaries(KEY, VALUE, max_size=12))
def test_parse_format_round_trip(prefix, labels):
    text = format_attributes(prefix, labels)
    assert parse_attributes(text) == (prefix, labels)
    # types survive, not just values (True == 1 in Python)
    assert [type(v) for v in parse_attributes(text)[1].values()] == [type(v) for v in labels.values()]


@settings(max_examples=500, deadline=None)
@given(PREFIX, st.dictionaries(KEY, VALUE, min_size=1, max_size=6))
def test_released_code_spacing_parses_the_same(prefix, labels):
    text = format_attributes(prefix, labels)
    spaced = text.replace(":", " : ").replace(";", " ;")
    assert parse_attributes(spaced) == (prefix, labels)


def test_documented_examples():
    assert format_attributes("fairface", {"age": "20-29", "gender": "male", "race": "East_Asian"}) == (
        "fairface age: 20-29; gender: male; race: east asian;"
    )
    assert format_attributes("celeba", {"5_o_Clock_Shadow": False, "No_Beard": True}) == (
        "celeba 5 o clock shadow: false; no beard: true;"
    )
    assert format_attributes("affectnet", {"valence": 0.5, "arousal": -0.25}) == "affectnet valence: 0.50; arousal: -0.25;"
    assert parse_attributes("wiki age : 10 ; gender : female ;") == ("wiki", {"age": 10, "gender": "female"})
    assert parse_attributes("fs2k lip color: rosy brown;") == ("fs2k", {"lip color": "rosy brown"})


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", "empty"),
        ("Celeba! age: 3;", "Celeba!"),
        ("cacd age: 30", "'age: 30'"),
        ("cacd age 30;", "'age 30'"),
        ("cacd age: ;", "'age:'"),
        ("cacd age: 3; age: 4;", "'age' appears twice"),
        ("cacd : 3;", "': 3'"),
        ("cacd a: b: c;", "'a: b: c'"),
    ],
)
def test_malformed_text_names_the_offending_part(text, names):
    with pytest.raises(TextProtocolError) as err:
        parse_attributes(text)
    assert names in str(err.value)


@pytest.mark.parametrize(
    ("labels", "names"),
    [
        ({"age": "30"}, "would read back as a number"),
        ({"smiling": "true"}, "would read back as a bool"),
        ({"age": float("nan")}, "non-finite"),
        ({"colour": "a;b"}, "protocol reserves"),
        ({"colour": "  "}, "empty value"),
        ({"": 1}, "non-empty"),
        ({"x": [1]}, "unsupported type list"),
    ],
)
def test_unwritable_labels_raise(labels, names):
    with pytest.raises(TextProtocolError, match=names):
        format_attributes("cacd", labels)


def test_prefix_must_be_one_word():
    with pytest.raises(TextProtocolError, match="one word"):
        format_attributes("two words", {"a": 1})


def test_canonical_and_captions():
    assert canonical("  Wearing_Necktie ") == "wearing necktie"
    assert canonical("Latino_Hispanic") == "latino hispanic"
    assert normalize_caption("  She has\tblack  hair.\n") == "She has black hair."


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_normalize_caption_collapses_every_white_space(line):
    import re

    assert normalize_caption(line) == re.sub(r"\s+", " ", line).strip()
