"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

An 18-character code: registration authority (1), entity type (1), administrative division
(6), organisation code (9, itself ending in a GB 11714 check character) and a check
character (1) computed over the first 17 characters with weights ``3**i mod 31``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code."""
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise ValueError("need 17 characters from the GB 32100 alphabet")
    total = sum(_VALUE[c] * int(w) for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: object) -> bool:
    """True when ``code`` is an 18-character code with a valid GB 32100 check character."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(c not in _VALUE for c in code):
        return False
    return check_char(code[:17]) == code[17]


def valid_mask(codes: pd.Series) -> pd.Series:
    """Vectorised :func:`is_valid` over a Series (missing values are invalid).

    Each distinct code is checked once, so long monthly tables cost little more than the registry.
    """
    idx, uniques = pd.factorize(codes, use_na_sentinel=True)
    ok_u = _valid_array(pd.Series(uniques, dtype=object)) if len(uniques) else np.zeros(0, bool)
    ok = np.where(idx >= 0, ok_u[np.maximum(idx, 0)] if len(ok_u) else False, False)
    return pd.Series(ok, index=codes.index, dtype=bool)


def _valid_array(s: pd.Series) -> np.ndarray:
    text = s.astype("string")
    ok = (text.str.len().eq(18).fillna(False) & text.str.fullmatch(f"[{ALPHABET}]{{18}}").fillna(False)).to_numpy(bool)
    out = np.zeros(len(s), dtype=bool)
    good = text[ok].to_numpy(dtype=str)
    if len(good):
        arr = np.frombuffer("".join(good).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        lut = np.full(128, -1, dtype=np.int64)
        for c, v in _VALUE.items():
            lut[ord(c)] = v
        vals = lut[arr]
        expected = (31 - (vals[:, :17] @ WEIGHTS) % 31) % 31
        out[np.flatnonzero(ok)] = expected == vals[:, 17]
    return out


def _org_check(body8: str) -> str:
    total = sum(_ORG_ALPHABET.index(c) * int(w) for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else ("0" if c9 == 11 else str(c9))


def make_codes(serials: np.ndarray, divisions: np.ndarray, entity_types: np.ndarray) -> np.ndarray:
    """Build valid codes from integer serials (unique serials give unique codes).

    ``divisions`` are 6-digit administrative division codes, ``entity_types`` the second
    character ('1' enterprise, '2' individual business, '3' farmers' cooperative); the
    registration authority is '9' (market supervision).
    """
    out = np.empty(len(serials), dtype=object)
    for k, (serial, div, typ) in enumerate(zip(serials, divisions, entity_types, strict=True)):
        n = int(serial)
        body = []
        for _ in range(8):
            n, r = divmod(n, 31)
            body.append(ALPHABET[r])
        if n:
            raise ValueError("serial too large for an 8-character organisation code body")
        body8 = "".join(reversed(body))
        first17 = f"9{typ}{div}{body8}{_org_check(body8)}"
        out[k] = first17 + check_char(first17)
    return out
