"""Phone numbers as caller ID delivers them, reduced to one comparable key."""

from __future__ import annotations

import re

DEFAULT_COUNTRY_CODE = "98"
# Digits of a national significant number in Iran (912 345 6789, 21 5555 0001): a longer
# number that starts with the country code carries it, even without "+" or "00".
NATIONAL_DIGITS = 10


def phone_key(raw: str | None, country_code: str = DEFAULT_COUNTRY_CODE) -> str | None:
    """Return the national significant number: '+98 912-345 6789' → '9123456789'.

    Caller ID may arrive with an international prefix (00 or +), the country code with
    or without that prefix ('98 912 345 6789', as some switches deliver it), a trunk 0, or
    none of them; all reduce to the same key.
    """
    if not raw:
        return None
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("00"):
        digits = digits[2:]
    elif raw.strip().startswith("+"):
        pass
    else:
        digits = digits.lstrip("0")
        if not (digits.startswith(country_code) and len(digits) > NATIONAL_DIGITS):
            return digits or None
    if digits.startswith(country_code):
        digits = digits[len(country_code):]
    return digits.lstrip("0") or None
