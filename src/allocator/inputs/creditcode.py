"""The unified social credit code (统一社会信用代码) of GB 32100-2015.

A code has 18 characters from a 31-character alphabet (the digits and the capital letters
without I, O, S, V and Z, which are too easily misread):

====== ===========================================================================
chars  meaning
====== ===========================================================================
1      registration authority (9 = market regulation, formerly 工商)
2      type of body (1 = enterprise)
3-8    administrative division code of the registering authority (GB/T 2260)
9-17   organisation code (GB 11714, its last character its own check digit)
18     check character over characters 1-17
====== ===========================================================================

The check character is ``31 − (Σ value(cᵢ) × wᵢ mod 31)`` with the weights
``1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28`` (3ⁱ mod 31), where a
result of 31 is written as ``0``.

:func:`is_valid`, :func:`check_character` and :func:`normalise` work on one code;
:func:`validate_series` checks a whole column at once (a loader's job); :func:`generate` makes
valid codes for the synthetic population.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.i18n import _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

# GB/T 2260 codes of Liuzhou's counties and districts. The two new zones are functional
# areas, not administrative divisions: their firms register with city-level authorities,
# whose codes carry the city's own division code 450200.
DIVISION_CODES: dict[str, str] = {
    "城中区": "450202",
    "鱼峰区": "450203",
    "柳南区": "450204",
    "柳北区": "450205",
    "柳江区": "450206",
    "柳城县": "450222",
    "鹿寨县": "450223",
    "融安县": "450224",
    "融水苗族自治县": "450225",
    "三江侗族自治县": "450226",
    "柳东新区": "450200",
    "阳和工业新区": "450200",
}

# GB 11714 organisation code: 8 body characters, weights, check = 11 − (Σ mod 11), 10 → X.
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Byte → alphabet value (−1 when the byte is not in the alphabet), for the vectorised check.
_LOOKUP = np.full(256, -1, dtype=np.int64)
for _ch, _v in _VALUE.items():
    _LOOKUP[ord(_ch)] = _v
_WEIGHTS_ARR = np.array(WEIGHTS, dtype=np.int64)

BoolArray = npt.NDArray[np.bool_]


def check_character(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a code.

    Parameters
    ----------
    first17:
        Exactly 17 characters from :data:`ALPHABET`.

    Returns
    -------
    str
        The 18th character.

    Raises
    ------
    ValueError
        When ``first17`` is not 17 characters of the alphabet.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    try:
        total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the code alphabet") from None
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """Whether ``code`` is a well-formed credit code with the right check character.

    Letters must be capitals, as the standard writes them; callers that accept lower case
    upper-case first.
    """
    return explain(code) is None


def explain(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, or ``None`` when it is.

    The reason is written for a clerk: which rule fails and, for a wrong check character,
    which character was expected.
    """
    if len(code) != LENGTH:
        return _("{length} characters, not {found}").format(length=LENGTH, found=len(code))
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        shown = _(", ").join(repr(ch) for ch in bad)
        if any(ch.isalpha() for ch in bad):
            return _(
                "only digits and the capitals of {letters}: {shown} is not allowed (the letters "
                "I, O, S, V and Z are never used; lower case is not allowed)"
            ).format(letters=ALPHABET[10:], shown=shown)
        return _("only digits and the capitals of {letters}: {shown} is not allowed").format(
            letters=ALPHABET[10:], shown=shown
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return _("check character {expected} at position 18, not {found}").format(
            expected=repr(expected), found=repr(code[17])
        )
    return None


def validate_series(codes: pd.Series) -> BoolArray:
    """Validate a column of codes at once.

    Parameters
    ----------
    codes:
        Strings (already trimmed; blanks are simply invalid).

    Returns
    -------
    numpy.ndarray
        Boolean mask, True where the code is valid. Use :func:`explain` on the invalid ones
        for a message; that loop then runs over problem rows only.
    """
    values = np.asarray(codes.to_numpy(dtype=object), dtype=str)
    ok = np.zeros(len(values), dtype=bool)
    candidates = np.flatnonzero(np.char.str_len(values) == LENGTH)
    if candidates.size == 0:
        return ok
    # A non-ASCII character becomes one '?' byte, which keeps every code 18 bytes long and
    # is not in the alphabet, so the row fails.
    raw = "".join(values[candidates]).encode("ascii", errors="replace")
    digits = _LOOKUP[np.frombuffer(raw, dtype=np.uint8)].reshape(-1, LENGTH)
    in_alphabet = (digits >= 0).all(axis=1)
    total = digits[:, :17] @ _WEIGHTS_ARR
    expected = (31 - total % 31) % 31
    ok[candidates] = in_alphabet & (expected == digits[:, 17])
    return ok


def _org_check(body: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """GB 11714 check characters of rows of 8 digit values."""
    c = (11 - (body @ _ORG_WEIGHTS) % 11) % 11
    return np.where(c == 10, "X", c.astype(str))


def generate(districts: npt.ArrayLike, rng: np.random.Generator) -> npt.NDArray[np.str_]:
    """Make distinct valid credit codes for firms registered in the given districts.

    Registration authority ``9`` (market regulation), type ``1`` (enterprise), the district's
    division code from :data:`DIVISION_CODES`, an organisation code of 8 random digits and its
    GB 11714 check character, and the GB 32100 check character.

    Parameters
    ----------
    districts:
        Chinese district names (keys of :data:`DIVISION_CODES`), one per firm.
    rng:
        The generator to draw from; the same state gives the same codes.

    Returns
    -------
    numpy.ndarray
        One code per firm; no two alike.
    """
    names = np.asarray(districts, dtype=str)
    n = names.size
    uniq, inverse = np.unique(names, return_inverse=True)
    try:
        div = np.array([DIVISION_CODES[d] for d in uniq], dtype=str)[inverse]
    except KeyError as exc:
        raise ValueError(f"no division code for district {exc.args[0]!r}") from None
    # Distinct organisation bodies make the codes distinct whatever the districts.
    body_num = rng.choice(10**8, size=n, replace=False)
    body = (body_num[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    org = np.char.add(np.char.zfill(body_num.astype(str), 8), _org_check(body))
    first17 = np.char.add(np.char.add("91", div), org)
    raw = np.frombuffer("".join(first17).encode("ascii"), dtype=np.uint8).reshape(n, 17)
    total = _LOOKUP[raw] @ _WEIGHTS_ARR
    check = np.array(list(ALPHABET))[(31 - total % 31) % 31]
    return np.char.add(first17, check)


def normalise(code: str) -> str:
    """A code as typed, the way the data loader reads it: NFKC, no white space, upper case.

    Full-width characters and lower case are typing accidents, not other codes.
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", code)).upper()


__all__ = [
    "ALPHABET",
    "DIVISION_CODES",
    "LENGTH",
    "WEIGHTS",
    "check_character",
    "explain",
    "generate",
    "is_valid",
    "normalise",
    "validate_series",
]
