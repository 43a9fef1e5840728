"""CSV downloads never hand a spreadsheet a formula typed by a user."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from fieldsvc.csvfile import safe_cell, write_csv

URL = "/api/v1/reports/voice-of-customer"
PERIOD = {"from": "2021-01-01", "to": "2021-01-31"}


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3",
                                  "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_text_is_quoted(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value, cell", [("jam", "jam"), (None, ""), (-5, -5), (0.25, 0.25),
                                         ("a=b", "a=b")])
def test_other_cells_are_unchanged(value, cell):
    assert safe_cell(value) == cell


def test_write_csv_reads_back_as_text():
    body = write_csv(["topic", "n"], [["=1+1", -3]])
    assert list(csv.reader(io.StringIO(body))) == [["topic", "n"], ["'=1+1", "-3"]]


def test_a_ticket_topic_starting_with_equals_is_not_a_formula(client, make):
    customer = make.customer()
    make.ticket(customer=customer, category="complaint", region="capital",
                topic='=HYPERLINK("http://evil.example","Click")',
                created_at=datetime(2021, 1, 5, 9, tzinfo=UTC))
    res = client.get(URL, query_string={**PERIOD, "group": "topic", "format": "csv"})
    assert res.status_code == 200 and res.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    topics = [r["topic"] for r in rows if r["level"] == "1"]
    assert topics == ['\'=HYPERLINK("http://evil.example","Click")']
