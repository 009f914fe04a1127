"""GB 32100-2015 unified social credit codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.inputs import creditcode

REAL_CODES = ("91350100M000100Y43", "91110000600037341L", "91440300708461136T")


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert creditcode.is_valid(code)
    assert creditcode.check_character(code[:17]) == code[17]


def test_check_character_by_hand() -> None:
    # 91350100M000100Y4: values 9,1,3,5,0,1,0,0,21(M),0,0,0,1,0,0,30(Y),4 times the weights
    # 1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28 sum to 9+3+27+135+0+26+0+0+420+0+0+0+8
    # +0+0+900+112 = 1640; 1640 mod 31 = 28; 31 - 28 = 3.
    assert creditcode.check_character("91350100M000100Y4") == "3"


def test_remainder_zero_maps_to_zero() -> None:
    # Find a body whose weighted sum is a multiple of 31: its check character must be '0'.
    body = "91450200000000000"
    total = sum(
        creditcode.ALPHABET.index(c) * w for c, w in zip(body, creditcode.WEIGHTS, strict=True)
    )
    assert total % 31 != 0  # so adjust position 17 (weight 28) to reach a multiple
    for ch in creditcode.ALPHABET:
        candidate = body[:16] + ch
        t = sum(
            creditcode.ALPHABET.index(c) * w
            for c, w in zip(candidate, creditcode.WEIGHTS, strict=True)
        )
        if t % 31 == 0:
            assert creditcode.check_character(candidate) == "0"
            assert creditcode.is_valid(candidate + "0")
            break
    else:
        pytest.fail("no position-17 character gives a multiple of 31")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("91350100M000100Y44", "check character '3' at position 18, not '4'"),
        ("91350100M000100Y4", "18 characters, not 17"),
        ("91350100M000100Y433", "18 characters, not 19"),
        ("91350100M00O100Y43", "'O' is not allowed"),
        ("91350100m000100Y43", "'m' is not allowed"),
    ],
)
def test_explain_names_the_rule(code: str, words: str) -> None:
    assert not creditcode.is_valid(code)
    assert words in (creditcode.explain(code) or "")


def test_check_character_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="17 characters"):
        creditcode.check_character("123")
    with pytest.raises(ValueError, match="'I'"):
        creditcode.check_character("9135010I0M000100Y")


def test_validate_series_matches_scalar_check() -> None:
    codes = pd.Series([*REAL_CODES, "91350100M000100Y44", "", "abc", "９１350100M000100Y43",
                       "91350100M00O100Y43"])  # fmt: skip
    mask = creditcode.validate_series(codes)
    assert mask.tolist() == [creditcode.is_valid(c) for c in codes]
    assert mask.tolist() == [True, True, True, False, False, False, False, False]


def test_generate_gives_distinct_valid_liuzhou_codes() -> None:
    districts = np.array(list(creditcode.DIVISION_CODES) * 500)
    codes = creditcode.generate(districts, np.random.default_rng(1))
    assert len(set(codes)) == codes.size == 6000
    assert creditcode.validate_series(pd.Series(codes)).all()
    assert all(c.startswith("91") for c in codes)
    expected = [creditcode.DIVISION_CODES[d] for d in districts]
    assert [c[2:8] for c in codes] == expected
    assert {c[2:8] for c in codes} >= {"450202", "450226", "450200"}


def test_generated_organisation_codes_carry_their_gb11714_check() -> None:
    codes = creditcode.generate(np.array(["柳北区"] * 50), np.random.default_rng(3))
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    for code in codes:
        org = code[8:17]
        c = (11 - sum(int(d) * w for d, w in zip(org[:8], weights, strict=True)) % 11) % 11
        assert org[8] == ("X" if c == 10 else str(c))


def test_generate_is_reproducible() -> None:
    districts = np.array(["城中区", "三江侗族自治县", "柳东新区"] * 10)
    a = creditcode.generate(districts, np.random.default_rng(7))
    b = creditcode.generate(districts, np.random.default_rng(7))
    assert a.tolist() == b.tolist()


def test_generate_refuses_unknown_district() -> None:
    with pytest.raises(ValueError, match="桂林"):
        creditcode.generate(np.array(["桂林"]), np.random.default_rng(0))


body17 = st.text(alphabet=creditcode.ALPHABET, min_size=17, max_size=17)


@given(body=body17)
def test_a_body_with_its_check_character_is_valid(body: str) -> None:
    assert creditcode.is_valid(body + creditcode.check_character(body))


@given(body=body17, position=st.integers(0, 17), shift=st.integers(1, 30))
def test_every_single_substitution_is_caught(body: str, position: int, shift: int) -> None:
    # 31 is prime and no weight is a multiple of it, so changing one character always
    # changes the weighted sum modulo 31 (and changing the check character changes it too).
    code = body + creditcode.check_character(body)
    changed = creditcode.ALPHABET[(creditcode.ALPHABET.index(code[position]) + shift) % 31]
    bad = code[:position] + changed + code[position + 1 :]
    assert not creditcode.is_valid(bad)
    assert not creditcode.validate_series(pd.Series([bad]))[0]
