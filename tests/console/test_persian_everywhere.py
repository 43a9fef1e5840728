"""Persian everywhere: every console page and the dealership portal, reached by following
links from the home page as each role with ?lang=fa, shows no English words.

Words a Persian reader also sees untranslated are allowed: codes, names from the data,
units and brand names (ALLOWED), anything marked left-to-right on purpose (dir="ltr",
<code>: numbers, VINs, paths), and the language switch's own "English".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

ROLES = ("admin", "dispatcher", "manager", "agent", "dealership")
MAX_PAGES = 60  # per role; the console has fewer distinct page kinds than this
MIN_PAGES = {"admin": 15, "dispatcher": 8, "manager": 8, "agent": 8, "dealership": 2}
ALLOWED = frozenset(
    {
        "fieldsvc",
        "English",
        "API",
        "REST",
        "CSV",
        "SLA",
        "KPI",
        "KPIs",
        "VIN",
        "ETA",
        "PM",
        "RMA",
        "ICS",
        "OpenAPI",
        "POST",
        "GET",
        "min",
        "km",
    }
)
WORD = re.compile(r"[A-Za-z_]*[A-Za-z]{3,}[A-Za-z_]*")
SKIP_PATHS = re.compile(r"/(logout|export|download|ics|csv)\b|\.(csv|ics|json)$")


class VisibleText(HTMLParser):
    """The text a reader sees: no script/style, nothing inside dir="ltr" or <code>."""

    VOID = frozenset(
        {
            "br",
            "img",
            "input",
            "meta",
            "link",
            "hr",
            "col",
            "area",
            "source",
            "wbr",
            "base",
            "embed",
            "param",
            "track",
        }
    )

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: is it hidden from the check?
        self.words: list[str] = []
        self.snippets: dict[str, str] = {}  # word → the text it was read in
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag in self.VOID:
            if tag == "input" and attributes.get("type") in ("submit", "button"):
                self._text(attributes.get("value") or "")
            self._text(attributes.get("placeholder") or "")
            return
        hidden = (
            tag in ("script", "style", "code", "template")
            or attributes.get("dir") == "ltr"
            or "lang" in attributes
            and attributes["lang"] == "en"
        )
        self.stack.append(hidden or (bool(self.stack) and self.stack[-1]))
        if not self.stack[-1]:
            self._text(attributes.get("title") or "")
            self._text(attributes.get("aria-label") or "")

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self._text(data)

    def _text(self, text: str) -> None:
        for word in WORD.findall(text):
            if "_" in word and word.isupper():
                continue  # a setting's name, e.g. FIELDSVC_TILE_URL
            self.words.append(word)
            self.snippets.setdefault(word, " ".join(text.split())[:80])


def _crawl(client, start: str, names: set[str]) -> tuple[set[str], dict[str, list[str]]]:
    seen: set[str] = set()
    queue, found = [start], {}
    kinds: set[str] = set()
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path
        kind = re.sub(r"/\d+", "/N", path)
        if path in seen or kind in kinds and kind != path:
            continue  # one page of each kind (e.g. one work order) is enough
        seen.add(path)
        kinds.add(kind)
        response = client.get(path, query_string={"lang": "fa"})
        assert response.status_code < 500, (path, response.status_code)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        parser = VisibleText()
        parser.feed(response.get_data(as_text=True))
        english = sorted({w for w in parser.words if w not in ALLOWED and w not in names})
        if english:
            found[path] = sorted({parser.snippets[w] for w in english})
        for href in parser.links:
            target = urlsplit(href)
            if target.netloc or not target.path.startswith(("/console", "/portal")):
                continue
            if SKIP_PATHS.search(target.path):
                continue
            queue.append(target.path)
    return seen, found


@pytest.fixture
def world(data):
    """A little of everything, so that list and detail pages have rows and links."""
    customer = data.customer(name="Behrouz Rad")
    site = data.site(customer=customer, name="Vanak branch", timezone="Asia/Tehran")
    data.work_order(
        site=site, summary="Boiler", response_due_at=datetime.now(UTC) + timedelta(hours=2)
    )
    data.ticket(customer=customer, subject="Boiler")
    dealership = data.dealership(name="Azadi Motors")
    return {
        "dealership": dealership,
        "names": set(WORD.findall("Behrouz Rad Vanak branch Boiler Azadi Motors")),
    }


@pytest.mark.parametrize("role", ROLES)
def test_no_english_left_on_any_page_in_persian(role, world, page_as):
    extra = {"dealership_id": world["dealership"].id} if role == "dealership" else {}
    client = page_as(role, username=f"fa{role}", **extra)
    names = world["names"] | {f"fa{role}"}
    seen, found = _crawl(client, "/console", names)
    assert len(seen) >= MIN_PAGES[role], sorted(seen)  # the crawl did reach the role's pages
    assert not found, "\n".join(f"{p}: {' | '.join(w)}" for p, w in sorted(found.items()))
