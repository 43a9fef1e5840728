"""Vehicle identification numbers (ISO 3779): format and the check digit."""

from __future__ import annotations

import re

# 17 characters; the letters I, O and Q are never used (they read as 1 and 0).
VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")

_VALUES = {
    **{str(d): d for d in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

# Model-year letters (position 10), 2010 to 2030.
YEAR_CODES = dict(zip(range(2010, 2031), "ABCDEFGHJKLMNPRSTVWXY", strict=True))


def check_digit(vin: str) -> str:
    """Return the check digit (position 9) of a 17-character VIN: '0'–'9' or 'X'."""
    total = sum(_VALUES[ch] * weight for ch, weight in zip(vin.upper(), _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def with_check_digit(vin: str) -> str:
    """Return `vin` with position 9 replaced by its computed check digit."""
    return vin[:8] + check_digit(vin) + vin[9:]


def is_valid_format(vin: str) -> bool:
    """True for 17 characters from the VIN alphabet (no I, O or Q)."""
    return bool(VIN_RE.match(vin))


def has_valid_check_digit(vin: str) -> bool:
    return is_valid_format(vin) and vin[8] == check_digit(vin)
