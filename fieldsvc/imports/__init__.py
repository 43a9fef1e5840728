"""CSV import: `fieldsvc import KIND FILE` (customers, assets, technicians, parts, vins).

Files are UTF-8 (a byte order mark is fine) with a header row; column names are
case-insensitive, cells are trimmed, blank cells mean "not given", entirely blank lines
are skipped. Unknown or repeated columns reject the file.

A file is all or nothing: every row is validated first (with the same schemas the API
uses), and if any row is bad the whole file is refused with one message per bad row and
field, by line number (the header is line 1), and nothing is written. A row that repeats
another row's natural key, or a key already in the database, is a bad row. Good files
are written with bulk inserts in one transaction; one audit-log entry records the import.

Columns per kind (* = required):

customers
    name*, tier (standard|priority|loyal), contact_name, email, phone, mobile, region,
    consent_marketing (true/false), notes; optionally one site per customer: site_name
    (default "Main site"), address, city, territory, latitude, longitude. Email, phone and
    mobile must each be new (a number in any format: 0912 345 6789 = +98 912 3456789).
assets
    product_code*, the customer by customer_id, customer_email or customer_phone (one of
    them*), site_name (a site of that customer; default: its only site), serial_number
    and/or vin (one of them*), install_date and warranty_end (YYYY-MM-DD; warranty_end
    defaults to install_date + the product's warranty months), notes.
technicians
    code*, name*, home_latitude*, home_longitude*, email, phone, territory, home_address,
    skills ("code:level;code:level", levels 1-5, skills from the catalog), shifts
    ("DAYS@HH:MM-HH:MM;..." with weekday digits Monday=0; default Iran's week
    "56012@08:00-17:00;3@08:00-13:00"). Each technician gets a van warehouse VAN-<code>.
parts
    sku*, name*, unit_cost, serialized (true/false).
vins (with --campaign CODE)
    vin* (17 characters, no I, O or Q; matched to known assets by VIN).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.imports.kinds import IMPORTERS
from fieldsvc.imports.reader import ImportRejected, read_rows
from fieldsvc.models import AuditEntry
from fieldsvc.problems import NotFound
from fieldsvc.recall.models import RecallCampaign

KINDS = tuple(IMPORTERS)


@dataclass
class ImportResult:
    kind: str
    rows: int
    summary: str


def run_import(session: Session, kind: str, data: bytes, actor: Actor, *,
               filename: str = "file", campaign_code: str | None = None) -> ImportResult:
    """Validate and write one CSV file; raise `ImportRejected` (422) with every bad row.

    Flushes, never commits: the caller commits once.
    """
    importer = IMPORTERS[kind]()
    extra = {}
    if kind == "vins":
        campaign_id = session.scalar(select(RecallCampaign.id)
                                     .where(RecallCampaign.code == campaign_code))
        if campaign_id is None:
            raise NotFound(f"No recall campaign with code '{campaign_code}'.")
        extra["campaign_id"] = campaign_id
    rows, errors = read_rows(data, importer.columns, filename)
    prepared = importer.check(session, rows, errors, **extra)
    if errors:
        raise ImportRejected(filename, rows=errors)
    summary = importer.write(session, prepared, **extra)
    session.add(AuditEntry(
        actor_id=actor.id, actor_name=actor.name, source=actor.source, action="import",
        entity_type=importer.table.__tablename__, entity_id=None,
        changes={"file": filename, "rows": len(prepared), "campaign": campaign_code},
    ))
    session.flush()
    return ImportResult(kind, len(prepared), summary)


__all__ = ["KINDS", "ImportRejected", "ImportResult", "run_import"]
