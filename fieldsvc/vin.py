"""Vehicle identification numbers (ISO 3779): the format and the check digit, once.

17 characters, digits and capital letters except I, O and Q (they read as 1 and 0).
Position 9 is a check digit computed from the other sixteen; North American VINs (world
manufacturer identifier starting 1-5) always carry it, other regions may not.
"""

from __future__ import annotations

import re
from typing import Any

VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")

# ISO 3779 transliteration and the weight of each position (position 9 weighs nothing).
_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# World manufacturer identifiers starting 1-5 are North American (US, Canada, Mexico),
# where the check digit is mandatory; elsewhere position 9 may be anything.
CHECK_DIGIT_REGIONS = "12345"


def is_valid_format(vin: str) -> bool:
    """True for 17 characters from the VIN alphabet (no I, O or Q)."""
    return bool(VIN_RE.match(vin))


def normalize_vin(raw: Any) -> str | None:
    """The VIN in canonical form (stripped, upper case), or None when it cannot be one."""
    if not isinstance(raw, str):
        return None
    vin = raw.strip().upper()
    return vin if VIN_RE.match(vin) else None


def check_digit(vin: str) -> str:
    """The check digit (position 9) of a 17-character VIN: '0'-'9' or 'X'."""
    total = sum(_VALUES[ch] * weight for ch, weight in zip(vin.upper(), _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def with_check_digit(vin: str) -> str:
    """`vin` with position 9 replaced by its computed check digit."""
    return vin[:8] + check_digit(vin) + vin[9:]


def has_valid_check_digit(vin: str) -> bool:
    return is_valid_format(vin) and vin[8] == check_digit(vin)


def check_digit_valid(vin: str | None) -> bool | None:
    """Whether position 9 is the check digit; None without a 17-character VIN."""
    if not vin or len(vin) != 17:
        return None
    try:
        return vin[8] == check_digit(vin)
    except KeyError:  # a character outside the VIN alphabet
        return False


def check_digit_applies(vin: str) -> bool:
    """True where the check digit is mandatory (North American manufacturers)."""
    return vin[:1] in CHECK_DIGIT_REGIONS
