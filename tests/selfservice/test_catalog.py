"""Every English string of the self-service pages has its Persian, placeholders alike."""

from __future__ import annotations

import re
from pathlib import Path

from fieldsvc.selfservice import owner, views
from fieldsvc.selfservice.catalog_fa import FA_SELF_SERVICE

TEMPLATES = Path(views.__file__).parent / "templates" / "selfservice"


def test_every_template_string_and_customer_message_is_translated():
    wanted = set()
    for template in TEMPLATES.glob("*.html"):
        wanted |= set(re.findall(r"_\('((?:[^'\\]|\\.)+)'", template.read_text()))
    wanted |= set(views.FOR_CUSTOMERS.values()) | {owner.NO_MATCH, owner.CHECK_DIGIT}
    wanted |= {
        "Booked.",
        "Moved.",
        "Cancelled.",
        "The visit is moved.",
        "The visit is cancelled.",
        "Thank you: we told the technician you will be home.",
    }
    missing = sorted(s for s in wanted if s not in FA_SELF_SERVICE)
    assert missing == []


def test_placeholders_match():
    for source, text in FA_SELF_SERVICE.items():
        assert set(re.findall(r"%\((\w+)\)s", source)) == set(re.findall(r"%\((\w+)\)s", text)), (
            source
        )
