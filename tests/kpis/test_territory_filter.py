"""The KPI page's territory filter: a select of the known territories, with "all"."""

from __future__ import annotations

import re

from fieldsvc.extensions import db
from tests.factories import Factories

PAGE = "/console/reports/kpis"


def _options(html: str) -> list[tuple[str, bool]]:
    select = html.split('<select id="k-territory" name="territory">')[1].split("</select>")[0]
    return [(value, bool(sel)) for value, sel in
            re.findall(r'<option value="([^"]*)"( selected)?>', select)]


def test_territories_of_sites_and_technicians_offered_with_all(app, page_as):
    with app.app_context():
        make = Factories(db.session)
        make.site(territory="tehran-north")
        make.site(territory="isfahan")
        make.site(territory=None)
        make.technician(territory="tehran-north")
        make.technician(territory="Karaj")
        db.session.remove()
    client = page_as("manager")
    html = client.get(PAGE, query_string={"from": "2021-03-01", "to": "2021-03-07"}) \
        .get_data(as_text=True)
    assert 'name="territory" type="text"' not in html
    assert _options(html) == [("", False), ("isfahan", False), ("Karaj", False),
                              ("tehran-north", False)]
    assert "All territories" in html

    html = client.get(PAGE, query_string={"from": "2021-03-01", "to": "2021-03-07",
                                          "territory": "Karaj"}).get_data(as_text=True)
    assert ("Karaj", True) in _options(html)
    assert "kpis.csv?" in html and "territory=Karaj" in html

    # A territory typed into the address is kept selected, so the page says what it shows.
    html = client.get(PAGE, query_string={"territory": "nowhere"}).get_data(as_text=True)
    assert ("nowhere", True) in _options(html)


def test_all_territories_in_persian(page_as):
    html = page_as("manager").get(PAGE, query_string={"lang": "fa"}).get_data(as_text=True)
    assert _options(html)[0] == ("", False) and "همه حوزه‌ها" in html
