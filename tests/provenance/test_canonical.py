"""``canonical_json`` gives exactly the reference RFC 8785 bytes (``rfc8785.dumps``)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.canonical import canonical_json

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "a", "\x00\x1f\x7f", "\ue000", "\U0001f600", "\uffff", "𝔸b", '"\\\b\f\n\r\t/', "\u2028"]
)
_floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [
        0.0,
        -0.0,
        7.0,
        1e16,
        1e21,
        1e-6,
        1e-7,
        123.456,
        2.0**53,
        2.0**53 + 2,
        5e-324,
        1.7976931348623157e308,
    ]
)
_ints = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
_scalars = st.none() | st.booleans() | _ints | _floats | _text
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_same_bytes_as_the_reference(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("key_a", "key_b"),
    [("\ue000", "\U0001f600"), ("\uffff", "\U00010000"), ("a", "b")],
)
def test_keys_are_ordered_by_utf16_code_units(key_a: str, key_b: str) -> None:
    value = {key_a: 1, key_b: 2}
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (2**53, rfc8785.IntegerDomainError),
        (math.inf, rfc8785.FloatDomainError),
        (math.nan, rfc8785.FloatDomainError),
        ("\ud800", rfc8785.CanonicalizationError),
        ({1: "x"}, rfc8785.CanonicalizationError),
    ],
)
def test_values_rfc8785_cannot_hold_are_refused_like_the_reference(
    value: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        rfc8785.dumps(value)
    with pytest.raises(error):
        canonical_json(value)


def test_a_signed_record_is_canonical(make_signed) -> None:  # type: ignore[no-untyped-def]
    signed = make_signed(prompt="一只橘猫, cfg 7.0")
    assert canonical_json(signed.record) == signed.record_bytes == rfc8785.dumps(signed.record)
