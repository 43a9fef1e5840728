"""README's permission table is the policy matrix, and the mobile README says what admins get."""

from pathlib import Path

from fieldsvc.auth.policy import allowed
from fieldsvc.auth.policy_table import markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_readme_permission_table_is_generated_from_the_policy():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = markdown_table()
    assert table in readme, (
        "README.md's permission table differs from fieldsvc/auth/policy.py; replace it with:\n"
        + table)


def test_table_shows_the_grants_an_earlier_readme_missed():
    rows = {line.split(" | ")[0].strip("| `"): line for line in markdown_table().splitlines()}
    for role in ("technician", "agent", "dispatcher"):
        assert allowed(role, "work-orders", "rmas")
    assert "rmas" in rows["work-orders"].split(" | ")[2]  # dispatcher
    assert rows["work-orders"].split(" | ")[3].startswith("RC + ")  # agent
    assert "rmas" in rows["work-orders"].split(" | ")[3].split(", ")
    assert "RU + rmas, transition" in rows["work-orders"]  # technician
    dealership = rows["recall-appointments"].split(" | ")[5]
    assert {"complete", "no-show", "reinvite"} <= set(dealership.rstrip(" |").replace(
        "RCU + ", "").split(", "))
    agent = rows["recall-appointments"].split(" | ")[3]
    assert "reinvite" in agent


def test_mobile_readme_says_what_an_admin_without_technician_gets(client):
    answer = client.get("/api/mobile/v1/day?date=2026-01-06")
    assert answer.status_code == 404
    text = (ROOT / "mobile_api" / "README.md").read_text(encoding="utf-8")
    assert "administrator without a linked technician gets 404" in text
