"""One importer per kind: validate every row, then write all of them in bulk.

Each importer's `check` fills `errors` ({line: {column: [messages]}}) and returns the
prepared rows; `write` runs only when no row had an error. Field rules come from the
API's marshmallow schemas; references are resolved by natural keys.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import time
from typing import Any

from marshmallow import ValidationError, fields
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from fieldsvc.dates import add_months
from fieldsvc.imports.reader import Columns, Row
from fieldsvc.models import (
    Asset,
    Customer,
    Part,
    Product,
    Shift,
    Site,
    Skill,
    Technician,
    TechnicianSkill,
    Warehouse,
)
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import WarehouseKind
from fieldsvc.recall.models import CampaignVin
from fieldsvc.schemas.catalog import AssetSchema
from fieldsvc.schemas.common import StrictBoolean
from fieldsvc.schemas.customers import CustomerSchema, SiteSchema
from fieldsvc.schemas.inventory import PartSchema
from fieldsvc.schemas.workforce import TechnicianSchema
from fieldsvc.services.phones import phone_key
from fieldsvc.vin import VIN_RE

Errors = dict[int, dict[str, list[str]]]
CHUNK = 900  # stays under SQLite's bound-parameter limit in IN (...) lists


def _add(errors: Errors, line: int, column: str, message: str) -> None:
    errors.setdefault(line, {}).setdefault(column, []).append(message)


# A CSV cell is text: boolean columns take the usual spellings, which the API's JSON
# booleans (StrictBoolean: true/false only) do not.
_TRUE = {str(v).lower() for v in fields.Boolean.truthy}
_FALSE = {str(v).lower() for v in fields.Boolean.falsy}


def _cell(field, value: Any) -> Any:
    if isinstance(field, StrictBoolean) and isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return value


def _load(schema, values: dict[str, Any], errors: Errors, line: int,
          rename: dict[str, str] | None = None) -> dict[str, Any] | None:
    """Load non-blank cells through `schema`; blank cells are left out (defaults apply)."""
    data = {k: _cell(schema.fields.get(k), v) for k, v in values.items() if v != ""}
    try:
        return schema.load(data)
    except ValidationError as exc:
        for name, messages in exc.normalized_messages().items():
            column = (rename or {}).get(name, name)
            for message in messages if isinstance(messages, list) else [str(messages)]:
                _add(errors, line, column, str(message))
        return None


def _existing(session: Session, column, values: Iterable) -> set:
    """Which of `values` already occur in `column` (queried in chunks)."""
    values = sorted({v for v in values if v is not None})
    found: set = set()
    for i in range(0, len(values), CHUNK):
        found.update(session.scalars(select(column).where(column.in_(values[i:i + CHUNK]))))
    return found


def _first_seen(rows: list[Row], key, errors: Errors, column: str, label: str) -> None:
    """Mark every row whose `key(row)` repeats an earlier row of the file."""
    seen: dict[Any, int] = {}
    for row in rows:
        value = key(row)
        if value is None:
            continue
        if value in seen:
            _add(errors, row.line, column,
                 f"Duplicate {label} '{row.values[column]}': already on line {seen[value]}.")
        else:
            seen[value] = row.line


# ---- customers ---------------------------------------------------------------------

CUSTOMER_FIELDS = ("name", "tier", "contact_name", "email", "phone", "mobile", "region",
                   "consent_marketing", "notes")
SITE_FIELDS = ("site_name", "address", "city", "territory", "latitude", "longitude")


class CustomersImport:
    kind = "customers"
    table = Customer
    columns = Columns(required=("name",), optional=CUSTOMER_FIELDS[1:] + SITE_FIELDS)

    def check(self, session: Session, rows: list[Row], errors: Errors, **_) -> list[dict]:
        customer_schema = CustomerSchema(only=CUSTOMER_FIELDS)
        site_schema = SiteSchema(exclude=("customer_id", "id", "created_at", "updated_at",
                                          "access_hours", "notes"))
        prepared = []
        for row in rows:
            values = row.values
            customer = _load(customer_schema, {k: values.get(k, "") for k in CUSTOMER_FIELDS},
                             errors, row.line)
            site = None
            if any(values.get(k) for k in SITE_FIELDS):
                site_values = {k: values.get(k, "") for k in SITE_FIELDS[1:]}
                site_values["name"] = values.get("site_name") or "Main site"
                site_values["region"] = values.get("region", "")
                site = _load(site_schema, site_values, errors, row.line,
                             rename={"name": "site_name"})
            if customer is not None:
                if customer.get("consent_marketing") and customer.get("consent_at") is None:
                    customer["consent_at"] = utcnow()
                customer["phone_key"] = phone_key(customer.get("phone"))
                customer["mobile_key"] = phone_key(customer.get("mobile"))
            prepared.append({"line": row.line, "customer": customer, "site": site})

        def email(row: Row) -> str | None:
            return row.values.get("email", "").lower() or None

        _first_seen(rows, email, errors, "email", "email")
        seen: dict[str, int] = {}
        for row in rows:
            for column in ("phone", "mobile"):
                key = phone_key(row.values.get(column))
                first = seen.setdefault(key, row.line) if key else row.line
                if first != row.line:
                    _add(errors, row.line, column,
                         f"Duplicate number '{row.values[column]}': already on line {first}.")
        emails = _existing(session, func.lower(Customer.email),
                           [email(r) for r in rows])
        keys = [phone_key(r.values.get(c)) for r in rows for c in ("phone", "mobile")]
        known_keys = (_existing(session, Customer.phone_key, keys)
                      | _existing(session, Customer.mobile_key, keys))
        for row in rows:
            if email(row) in emails:
                _add(errors, row.line, "email", "A customer with this email already exists.")
            for column in ("phone", "mobile"):
                if phone_key(row.values.get(column)) in known_keys:
                    _add(errors, row.line, column,
                         "A customer with this number already exists.")
        return prepared

    def write(self, session: Session, prepared: list[dict], **_) -> str:
        customers = [p["customer"] for p in prepared]
        for c in customers:
            for name in CUSTOMER_FIELDS + ("consent_at", "phone_key", "mobile_key"):
                c.setdefault(name, None)
        stmt = insert(Customer).returning(Customer.id, sort_by_parameter_order=True)
        ids = list(session.scalars(stmt, customers))
        sites = []
        for cid, p in zip(ids, prepared, strict=True):
            if p["site"]:
                site = {"customer_id": cid, "address": None, "city": None, "region": None,
                        "territory": None, "latitude": None, "longitude": None} | p["site"]
                sites.append(site)
        if sites:
            session.execute(insert(Site), sites)
        return f"{len(ids)} customers ({len(sites)} with a site)"


# ---- assets ------------------------------------------------------------------------

ASSET_FIELDS = ("serial_number", "vin", "install_date", "warranty_end", "notes")


class AssetsImport:
    kind = "assets"
    table = Asset
    columns = Columns(
        required=("product_code",),
        optional=("customer_id", "customer_email", "customer_phone", "site_name")
        + ASSET_FIELDS,
        one_of=(("customer_id", "customer_email", "customer_phone"),
                ("serial_number", "vin")),
    )

    def _customers(self, session: Session, rows: list[Row]):
        ids = {int(r.values["customer_id"]) for r in rows
               if r.values.get("customer_id", "").isdigit()}
        emails = {r.values.get("customer_email", "").lower() for r in rows} - {""}
        keys = {phone_key(r.values.get("customer_phone")) for r in rows} - {None}
        by_id, by_email, by_key = set(), defaultdict(set), defaultdict(set)
        ids_l, emails_l, keys_l = sorted(ids), sorted(emails), sorted(keys)
        for i in range(0, max(len(ids_l), len(emails_l), len(keys_l)), CHUNK):
            chunk_ids, chunk_emails = ids_l[i:i + CHUNK], emails_l[i:i + CHUNK]
            chunk_keys = keys_l[i:i + CHUNK]
            by_id.update(session.scalars(select(Customer.id).where(
                Customer.id.in_(chunk_ids), Customer.erased_at.is_(None))))
            for cid, mail in session.execute(select(Customer.id, func.lower(Customer.email))
                                             .where(func.lower(Customer.email)
                                                    .in_(chunk_emails))):
                by_email[mail].add(cid)
            for cid, pk, mk in session.execute(
                    select(Customer.id, Customer.phone_key, Customer.mobile_key).where(
                        Customer.phone_key.in_(chunk_keys)
                        | Customer.mobile_key.in_(chunk_keys))):
                for key in (pk, mk):
                    if key in keys:
                        by_key[key].add(cid)
        return by_id, by_email, by_key

    def check(self, session: Session, rows: list[Row], errors: Errors, **_) -> list[dict]:
        schema = AssetSchema(only=ASSET_FIELDS)
        products = {code: (pid, months) for code, pid, months in session.execute(
            select(Product.code, Product.id, Product.warranty_months))}
        by_id, by_email, by_key = self._customers(session, rows)
        prepared = []
        for row in rows:
            v = row.values
            asset = _load(schema, {k: v.get(k, "") for k in ASSET_FIELDS}, errors, row.line)
            product = products.get(v["product_code"])
            if not v["product_code"]:
                _add(errors, row.line, "product_code", "Missing data for required field.")
            elif product is None:
                _add(errors, row.line, "product_code", f"No product '{v['product_code']}'.")
            customer_id = self._resolve_customer(row, by_id, by_email, by_key, errors)
            if asset is not None:
                if not asset.get("serial_number") and not asset.get("vin"):
                    _add(errors, row.line, "serial_number", "Give a serial_number or a vin.")
                install, end = asset.get("install_date"), asset.get("warranty_end")
                if install and end and end < install:
                    _add(errors, row.line, "warranty_end", "Must not be before install_date.")
                if end is None and install and product and product[1]:
                    asset["warranty_end"] = add_months(install, product[1])
            prepared.append({"line": row.line, "asset": asset, "customer_id": customer_id,
                             "product_id": product[0] if product else None,
                             "site_name": v.get("site_name") or None})
        self._duplicates(session, rows, prepared, errors)
        self._sites(session, prepared, errors)
        return prepared

    def _resolve_customer(self, row, by_id, by_email, by_key, errors) -> int | None:
        v = row.values
        if v.get("customer_id"):
            if not v["customer_id"].isdigit() or int(v["customer_id"]) not in by_id:
                _add(errors, row.line, "customer_id", f"No customer with id {v['customer_id']}.")
                return None
            return int(v["customer_id"])
        for column, table, key in (
                ("customer_email", by_email, v.get("customer_email", "").lower()),
                ("customer_phone", by_key, phone_key(v.get("customer_phone")))):
            if not key:
                continue
            found = table.get(key, set())
            if len(found) == 1:
                return next(iter(found))
            _add(errors, row.line, column, "No customer has this value." if not found else
                 f"Several customers match ({', '.join(map(str, sorted(found)))}); use "
                 "customer_id.")
            return None
        _add(errors, row.line, "customer_id",
             "Name the customer: customer_id, customer_email or customer_phone.")
        return None

    def _duplicates(self, session, rows, prepared, errors) -> None:
        for column in ("serial_number", "vin"):
            values = {p["line"]: p["asset"].get(column) for p in prepared if p["asset"]}
            _first_seen(rows, lambda r, found=values: found.get(r.line), errors, column, column)
            taken = _existing(session, getattr(Asset, column), values.values())
            for line, value in values.items():
                if value in taken:
                    _add(errors, line, column, f"An asset with {column} {value} already exists.")

    def _sites(self, session, prepared, errors) -> None:
        customer_ids = sorted({p["customer_id"] for p in prepared if p["customer_id"]})
        sites = defaultdict(list)
        for i in range(0, len(customer_ids), CHUNK):
            for sid, cid, name in session.execute(select(Site.id, Site.customer_id, Site.name)
                                                  .where(Site.customer_id.in_(
                                                      customer_ids[i:i + CHUNK]))):
                sites[cid].append((sid, name))
        for p in prepared:
            own = sites.get(p["customer_id"], [])
            if p["site_name"]:
                match = [sid for sid, name in own if name.lower() == p["site_name"].lower()]
                if len(match) != 1:
                    _add(errors, p["line"], "site_name",
                         "The customer has no site of that name." if not match
                         else "The customer has several sites of that name.")
                p["site_id"] = match[0] if match else None
            else:
                # With a single site there is no doubt where the asset is installed.
                p["site_id"] = own[0][0] if len(own) == 1 else None

    def write(self, session: Session, prepared: list[dict], **_) -> str:
        rows = [{"serial_number": None, "vin": None, "install_date": None,
                 "warranty_end": None, "notes": None} | p["asset"]
                | {"customer_id": p["customer_id"], "product_id": p["product_id"],
                   "site_id": p["site_id"]} for p in prepared]
        session.execute(insert(Asset), rows)
        return f"{len(rows)} assets"


# ---- technicians -------------------------------------------------------------------

TECH_FIELDS = ("code", "name", "email", "phone", "territory", "home_address",
               "home_latitude", "home_longitude")
# Iran's week by default: Saturday–Wednesday 08:00–17:00, Thursday 08:00–13:00.
DEFAULT_SHIFTS = "56012@08:00-17:00;3@08:00-13:00"
SHIFT_RE = re.compile(r"^([0-6]{1,7})@(\d{2}:\d{2})-(\d{2}:\d{2})$")


def parse_skills(text: str, catalog: dict[str, int]) -> tuple[dict[int, int], list[str]]:
    """'network:3;hvac:2' → {skill_id: level}, with messages for what is wrong."""
    skills: dict[int, int] = {}
    problems = []
    for item in filter(None, (p.strip() for p in text.split(";"))):
        code, _, level = item.partition(":")
        code, level = code.strip(), level.strip()
        if code not in catalog:
            problems.append(f"Unknown skill '{code}'.")
        elif not level.isdigit() or not 1 <= int(level) <= 5:
            problems.append(f"Level of '{code}' must be a whole number from 1 to 5.")
        elif catalog[code] in skills:
            problems.append(f"Skill '{code}' is listed twice.")
        else:
            skills[catalog[code]] = int(level)
    return skills, problems


def parse_shifts(text: str) -> tuple[dict[int, tuple[time, time]], list[str]]:
    """'56012@08:00-17:00;3@08:00-13:00' → {weekday: (start, end)}; weekdays Monday=0."""
    shifts: dict[int, tuple[time, time]] = {}
    problems = []
    for item in filter(None, (p.strip() for p in text.split(";"))):
        match = SHIFT_RE.match(item)
        try:
            start, end = (time.fromisoformat(match[2]), time.fromisoformat(match[3])) \
                if match else (None, None)
        except ValueError:
            start = end = None
        if start is None:
            problems.append(f"'{item}': write DAYS@HH:MM-HH:MM, days as digits Monday=0.")
            continue
        if end <= start:
            problems.append(f"'{item}': the end must be after the start.")
            continue
        for day in map(int, match[1]):
            if day in shifts:
                problems.append(f"Weekday {day} has two shifts.")
            shifts[day] = (start, end)
    return shifts, problems


class TechniciansImport:
    kind = "technicians"
    table = Technician
    columns = Columns(required=("code", "name", "home_latitude", "home_longitude"),
                      optional=("email", "phone", "territory", "home_address", "skills",
                                "shifts"))

    def check(self, session: Session, rows: list[Row], errors: Errors, **_) -> list[dict]:
        schema = TechnicianSchema(only=TECH_FIELDS)
        catalog = dict(session.execute(select(Skill.code, Skill.id)).all())
        prepared = []
        for row in rows:
            v = row.values
            tech = _load(schema, {k: v.get(k, "") for k in TECH_FIELDS}, errors, row.line)
            skills, problems = parse_skills(v.get("skills", ""), catalog)
            for message in problems:
                _add(errors, row.line, "skills", message)
            shifts, problems = parse_shifts(v.get("shifts") or DEFAULT_SHIFTS)
            for message in problems:
                _add(errors, row.line, "shifts", message)
            prepared.append({"line": row.line, "tech": tech, "skills": skills,
                             "shifts": shifts})
        _first_seen(rows, lambda r: r.values["code"].lower() or None, errors, "code", "code")
        codes = [r.values["code"] for r in rows]
        taken = _existing(session, Technician.code, codes)
        vans = _existing(session, Warehouse.code, [f"VAN-{c}" for c in codes])
        for row in rows:
            code = row.values["code"]
            if code in taken:
                _add(errors, row.line, "code", f"A technician with code {code} already exists.")
            elif f"VAN-{code}" in vans:
                _add(errors, row.line, "code", f"Warehouse VAN-{code} (its van) already exists.")
        return prepared

    def write(self, session: Session, prepared: list[dict], **_) -> str:
        vans = [{"code": f"VAN-{p['tech']['code']}", "name": f"Van of {p['tech']['name']}",
                 "kind": WarehouseKind.VAN, "region": None, "address": None,
                 "latitude": p["tech"]["home_latitude"],
                 "longitude": p["tech"]["home_longitude"]} for p in prepared]
        van_ids = list(session.scalars(
            insert(Warehouse).returning(Warehouse.id, sort_by_parameter_order=True), vans))
        techs = [{k: None for k in TECH_FIELDS} | p["tech"] | {"van_warehouse_id": van_id}
                 for p, van_id in zip(prepared, van_ids, strict=True)]
        ids = list(session.scalars(
            insert(Technician).returning(Technician.id, sort_by_parameter_order=True), techs))
        skills, shifts = [], []
        for tid, p in zip(ids, prepared, strict=True):
            skills += [{"technician_id": tid, "skill_id": s, "level": lvl}
                       for s, lvl in p["skills"].items()]
            shifts += [{"technician_id": tid, "weekday": d, "start_time": a, "end_time": b}
                       for d, (a, b) in sorted(p["shifts"].items())]
        if skills:
            session.execute(insert(TechnicianSkill), skills)
        session.execute(insert(Shift), shifts)
        return f"{len(ids)} technicians ({len(skills)} skills, {len(ids)} vans)"


# ---- parts -------------------------------------------------------------------------

class PartsImport:
    kind = "parts"
    table = Part
    columns = Columns(required=("sku", "name"), optional=("unit_cost", "serialized"))

    def check(self, session: Session, rows: list[Row], errors: Errors, **_) -> list[dict]:
        schema = PartSchema(only=("sku", "name", "unit_cost", "serialized"))
        prepared = [{"line": r.line, "part": _load(schema, r.values, errors, r.line)}
                    for r in rows]
        _first_seen(rows, lambda r: r.values["sku"] or None, errors, "sku", "sku")
        taken = _existing(session, Part.sku, [r.values["sku"] for r in rows])
        for row in rows:
            if row.values["sku"] in taken:
                _add(errors, row.line, "sku", f"A part with sku {row.values['sku']} exists.")
        return prepared

    def write(self, session: Session, prepared: list[dict], **_) -> str:
        rows = [{"unit_cost": None, "serialized": False} | p["part"] for p in prepared]
        session.execute(insert(Part), rows)
        return f"{len(rows)} parts"


# ---- VIN lists of a recall campaign ------------------------------------------------

class VinsImport:
    kind = "vins"
    table = CampaignVin
    columns = Columns(required=("vin",))

    def check(self, session: Session, rows: list[Row], errors: Errors, *,
              campaign_id: int, **_) -> list[dict]:
        prepared = []
        for row in rows:
            vin = row.values["vin"].upper()
            if not vin:
                _add(errors, row.line, "vin", "Missing data for required field.")
            elif not VIN_RE.match(vin):
                _add(errors, row.line, "vin", f"'{row.values['vin']}' is not a VIN: 17 "
                     "characters, digits and letters except I, O and Q.")
            prepared.append({"line": row.line, "vin": vin})
        _first_seen(rows, lambda r: r.values["vin"].upper() or None, errors, "vin", "VIN")
        listed = set()
        vins = sorted({p["vin"] for p in prepared})
        for i in range(0, len(vins), CHUNK):
            listed.update(session.scalars(select(CampaignVin.vin).where(
                CampaignVin.campaign_id == campaign_id,
                CampaignVin.vin.in_(vins[i:i + CHUNK]))))
        for p in prepared:
            if p["vin"] in listed:
                _add(errors, p["line"], "vin", f"{p['vin']} is already listed in the campaign.")
        return prepared

    def write(self, session: Session, prepared: list[dict], *, campaign_id: int, **_) -> str:
        vins = sorted({p["vin"] for p in prepared})
        assets: dict[str, int] = {}
        for i in range(0, len(vins), CHUNK):
            assets.update(session.execute(select(Asset.vin, Asset.id)
                                          .where(Asset.vin.in_(vins[i:i + CHUNK]))).all())
        rows = [{"campaign_id": campaign_id, "vin": p["vin"], "asset_id": assets.get(p["vin"])}
                for p in prepared]
        # Core executemany: tens of thousands of rows in one statement batch.
        session.execute(insert(CampaignVin.__table__), rows)
        matched = sum(1 for r in rows if r["asset_id"])
        return f"{len(rows)} VINs ({matched} matched to known assets)"


IMPORTERS = {cls.kind: cls for cls in (CustomersImport, AssetsImport, TechniciansImport,
                                       PartsImport, VinsImport)}
