"""Build the demo data set: an after-sales network in Tehran, Karaj, Isfahan and Shiraz.

Every identity (names, numbers, serials, VINs, coordinates) comes from one
`random.Random(seed)`; dates are relative to `today` (the `--today` option). Seeding two
empty databases with the same seed and day gives the same rows, ids included — except
wall-clock bookkeeping (`created_at`/`updated_at` of catalog rows, password hashes, the
audit log and the stock ledger's timestamps).

Rows go in with bulk INSERT … RETURNING (a few statements per table), so the whole set
takes seconds. Bulk inserts bypass the per-row audit hook; one audit entry records the
seeding itself. Stock changes go through `fieldsvc.services.stock` (receive, transfer),
so the levels are exactly the sum of the ledger's movements.
"""

from __future__ import annotations

import random
import string
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

import scheduler
from fieldsvc.config import WORKING_HOURS
from fieldsvc.context import Actor
from fieldsvc.dates import add_months
from fieldsvc.demo import data as D
from fieldsvc.demo.vin import YEAR_CODES
from fieldsvc.models import (
    Absence,
    Asset,
    AssetContract,
    AuditEntry,
    Certification,
    Customer,
    Interaction,
    MeterReading,
    OptimizationRun,
    Part,
    PmPlan,
    PmPlanAsset,
    PmPlanPart,
    PmPlanSkill,
    Product,
    ProductSkill,
    ServiceContract,
    Shift,
    Site,
    Skill,
    SlaTarget,
    Technician,
    TechnicianSkill,
    Ticket,
    User,
    Warehouse,
    WorkOrder,
    WorkOrderPart,
    WorkOrderSkill,
    WorkOrderTransition,
    WorkOrderWindow,
)
from fieldsvc.models.enums import (
    AppointmentStatus,
    CampaignStatus,
    CustomerTier,
    Direction,
    InteractionChannel,
    ProductKind,
    RunStatus,
    TicketCategory,
    TicketChannel,
    TicketStatus,
    WarehouseKind,
    WorkOrderStatus,
    WorkOrderType,
)
from fieldsvc.recall import services as recall_services
from fieldsvc.recall.models import (
    CampaignPart,
    CampaignPhase,
    CampaignVin,
    Dealership,
    DealershipDay,
    DealershipHoliday,
    RecallAppointment,
    RecallCampaign,
    RecallCampaignProduct,
)
from fieldsvc.services import stock
from fieldsvc.services.interactions import next_opening, parse_hours
from fieldsvc.services.phones import phone_key
from fieldsvc.services.sla import due_times
from fieldsvc.services.users import create_user
from fieldsvc.vin import with_check_digit
from scheduler.matrix import GeodesicProvider

DEFAULT_SEED = 1404
TZ = ZoneInfo("Asia/Tehran")
FRIDAY = 4
# Iran's week (weekday digits, Monday=0): Saturday–Wednesday full days, Thursday half.
FULL_DAYS = (5, 6, 0, 1, 2)
HALF_DAY = 3
SHIFT_START, SHIFT_END, HALF_DAY_END = time(8), time(17), time(13)

CUSTOMERS = 500
COMPANIES = 300
ASSETS = 6500
OPEN_WORK_ORDERS = 300
NEXT_DAY_WORK_ORDERS = 200
ON_HOLD_WORK_ORDERS = 15
HISTORY_TICKETS = 250
INSERT_SLICE = 1000  # rows per bulk INSERT ... RETURNING
HISTORY_DAYS = 91  # days of finished field visits before `today`
FAILED_SHARE = 0.09  # visits that end "cannot complete" and get a follow-up visit
RECURRENCE_SHARE = 0.05  # visits to an asset fixed less than 30 days before
REPEAT_DAYS = 30  # a visit this soon after the last one on the asset counts as a repeat
BREAK_SECONDS = 30 * 60  # technicians' lunch break
CAPITAL_PHASE_AGE_DAYS = 42  # the recall campaign's first phase began this long ago
NO_SHOW_SHARE = 0.1  # booked owners who did not bring the car
PARTS_USED_SHARE = 0.35  # breakdown and preventive visits that used parts
LOOSE_INTERACTIONS = 150
WORK_ORDER_TYPES = (
    [WorkOrderType.BREAKDOWN] * 120 + [WorkOrderType.PREVENTIVE] * 60
    + [WorkOrderType.INSTALLATION] * 45 + [WorkOrderType.RECALL] * 30
    + [WorkOrderType.INSPECTION] * 45
)
# Tables that must be empty before seeding (the demo's natural keys would collide).
GUARDED = (Customer, Technician, Product, Skill, Part, Warehouse, Dealership, RecallCampaign,
           WorkOrder)


def existing_data(session: Session) -> list[str]:
    """Names of the tables (and demo usernames) that already hold rows."""
    found = [m.__tablename__ for m in GUARDED
             if session.scalar(select(func.count()).select_from(m)) > 0]
    names = [u[0] for u in D.DEMO_USERS]
    taken = session.scalars(select(User.username).where(User.username.in_(names))).all()
    found += [f"user '{name}'" for name in sorted(taken)]
    return found


def insert_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` in bulk and return their new ids in the same order."""
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    ids: list[int] = []
    # In slices: returning ids in order costs time growing with the square of one batch.
    for i in range(0, len(rows), INSERT_SLICE):
        ids += session.scalars(stmt, rows[i:i + INSERT_SLICE])
    return ids


def add_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` in bulk when nothing needs their ids (one executemany)."""
    if rows:
        session.execute(insert(model), rows)


def local(day: date, at: time) -> datetime:
    """A Tehran wall-clock moment as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=TZ).astimezone(UTC)


@dataclass
class Summary:
    """What the seeding created: counts per kind, and the demo logins."""

    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    next_working_day: date | None = None


class DemoGenerator:
    """One seeding run; call `run()` once, inside the caller's transaction."""

    def __init__(self, session: Session, actor: Actor, *, seed: int = DEFAULT_SEED,
                 today: date) -> None:
        self.session = session
        self.actor = actor
        self.seed = seed
        self.rng = random.Random(seed)
        self.today = today
        self.summary = Summary()
        self.cities = {c.key: c for c in D.CITIES}
        self.used: set[str] = set()  # phone numbers, emails, serials, VINs, names

    # ---- small helpers ---------------------------------------------------------------

    def unique(self, make) -> str:
        """Call `make()` until it returns a value not produced before."""
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def near(self, lat: float, lon: float, spread_km: float = 1.2) -> tuple[float, float]:
        """A point within a few km of (lat, lon): about 111 km per degree."""
        d = spread_km / 111.0
        return (round(lat + self.rng.uniform(-d, d), 6), round(lon + self.rng.uniform(-d, d), 6))

    def person(self) -> tuple[str, str]:
        return self.rng.choice(D.FIRST_NAMES), self.rng.choice(D.LAST_NAMES)

    def mobile(self) -> str:
        def make():
            prefix = self.rng.choice(D.MOBILE_PREFIXES)
            n = self.rng.randrange(10**7)
            return f"{prefix} {n // 10**4:03d} {n % 10**4:04d}"
        return self.unique(make)

    def landline(self, city: D.City) -> str:
        def make():
            n = self.rng.randrange(2 * 10**7, 9 * 10**7)
            return f"{city.area_code}-{n // 10**4:04d} {n % 10**4:04d}"
        return self.unique(make)

    def address(self, city: D.City, district: D.District) -> str:
        return (f"No. {self.rng.randint(1, 240)}, {self.rng.choice(D.STREETS)}, "
                f"{district.name}, {city.name}")

    def pick_city(self) -> D.City:
        return self.rng.choices(D.CITIES, weights=[c.weight for c in D.CITIES])[0]

    def working_day_after(self, day: date) -> date:
        day += timedelta(days=1)
        while day.weekday() == FRIDAY or day in self.holidays:
            day += timedelta(days=1)
        return day

    def shift_end(self, day: date) -> time:
        return HALF_DAY_END if day.weekday() == HALF_DAY else SHIFT_END

    def count(self, key: str, n: int) -> None:
        self.summary.counts[key] = self.summary.counts.get(key, 0) + n

    # ---- the run ---------------------------------------------------------------------

    def run(self) -> Summary:
        self.holidays = self._holiday_dates()
        self.summary.next_working_day = self.working_day_after(self.today)
        self.skills()
        self.products()
        self.parts()
        self.warehouses()
        self.technicians()
        self.dealerships()
        self.users()
        self.customers()
        self.assets()
        self.contracts()
        self.stock()
        self.campaign()
        self.pm_plans()
        self.history()
        self.past_visits()
        self.recall_in_field: set[int] = set()
        self.work_orders()
        self.recall_history()
        self.session.add(AuditEntry(
            actor_id=self.actor.id, actor_name=self.actor.name, source=self.actor.source,
            action="seed-demo", entity_type="database", entity_id=None,
            changes={"seed": self.seed, "today": self.today.isoformat(),
                     "counts": self.summary.counts},
        ))
        self.session.flush()
        return self.summary

    def _holiday_dates(self) -> dict[date, str]:
        days = {}
        for year in (self.today.year - 1, self.today.year, self.today.year + 1):
            for month, dd, name in D.SOLAR_HOLIDAYS:
                day = date(year, month, dd)
                if self.today - timedelta(days=30) <= day <= self.today + timedelta(days=365):
                    days[day] = name
        return days

    # ---- catalog ---------------------------------------------------------------------

    def skills(self) -> None:
        ids = insert_rows(self.session, Skill,
                          [{"code": code, "name": name} for code, name, _ in D.SKILLS])
        self.skill_ids = dict(zip((s[0] for s in D.SKILLS), ids, strict=True))
        self.count("skills", len(ids))

    def products(self) -> None:
        rows = [{"code": p.code, "name": p.name, "kind": ProductKind(p.kind),
                 "manufacturer": p.manufacturer, "warranty_months": p.warranty_months,
                 "meter_unit": p.meter_unit} for p in D.PRODUCTS]
        ids = insert_rows(self.session, Product, rows)
        self.product_ids = dict(zip((p.code for p in D.PRODUCTS), ids, strict=True))
        self.models = {p.code: p for p in D.PRODUCTS}
        self.count("products", len(ids))
        add_rows(self.session, ProductSkill, [
            {"product_id": self.product_ids[p.code], "skill_id": self.skill_ids[code],
             "min_level": level}
            for p in D.PRODUCTS for code, level in p.declared_skills])

    def parts(self) -> None:
        rows = [{"sku": sku, "name": name, "unit_cost": Decimal(cost), "serialized": False}
                for sku, name, cost, _ in D.PARTS]
        ids = insert_rows(self.session, Part, rows)
        self.part_ids = dict(zip((p[0] for p in D.PARTS), ids, strict=True))
        self.parts_by_kind: dict[str, list[str]] = defaultdict(list)
        for sku, _, _, kind in D.PARTS:
            if sku != D.RECALL_PART:
                self.parts_by_kind[kind].append(sku)
        self.count("parts", len(ids))

    def warehouses(self) -> None:
        tehran = self.cities["tehran"]
        rows = [{"code": "WH-CENTRAL", "name": "Central warehouse (Tehran, Shahr-e Rey)",
                 "kind": WarehouseKind.CENTRAL, "region": tehran.region,
                 "address": "Central warehouse, Shahr-e Rey, Tehran",
                 "latitude": 35.5960, "longitude": 51.4350}]
        for city in D.CITIES:
            lat, lon = self.near(city.latitude, city.longitude, 3)
            rows.append({"code": f"WH-{city.key[:3].upper()}",
                         "name": f"{city.name} regional warehouse",
                         "kind": WarehouseKind.REGIONAL, "region": city.region,
                         "address": f"Industrial zone, {city.name}",
                         "latitude": lat, "longitude": lon})
        ids = insert_rows(self.session, Warehouse, rows)
        self.central_id = ids[0]
        self.regional_ids = {c.key: i for c, i in zip(D.CITIES, ids[1:], strict=True)}
        self.count("warehouses", len(ids))

    # ---- workforce -------------------------------------------------------------------

    def technicians(self) -> None:
        techs: list[dict[str, Any]] = []
        vans: list[dict[str, Any]] = []
        self.tech_skills: list[dict[str, int]] = []   # per technician: skill code → level
        self.tech_profiles: list[str] = []
        for city in D.CITIES:
            for n in range(1, city.technicians + 1):
                profile = D.PROFILE_CYCLE[(n - 1) % len(D.PROFILE_CYCLE)]
                first, last = self.person()
                code = f"T-{city.key[:3].upper()}-{n:02d}"
                district = self.rng.choice(city.districts)
                lat, lon = self.near(district.latitude, district.longitude)
                techs.append({
                    "code": code, "name": f"{first} {last}",
                    "email": self.unique(lambda f=first, la=last: (
                        f"{f}.{la}{self.rng.randint(1, 99)}@fieldsvc.demo".lower())),
                    "phone": self.mobile(), "territory": city.key,
                    "home_address": self.address(city, district),
                    "home_latitude": lat, "home_longitude": lon, "timezone": "Asia/Tehran",
                    "break_minutes": 30, "break_window_start": time(12),
                    "break_window_end": time(14), "max_work_minutes": 480,
                    "overtime_limit_minutes": 60, "active": True,
                })
                vans.append({"code": f"VAN-{code}", "name": f"Van of {first} {last}",
                             "kind": WarehouseKind.VAN, "region": city.region,
                             "address": None, "latitude": lat, "longitude": lon})
                self.tech_skills.append({code_: self.rng.randint(lo, hi) for code_, (lo, hi)
                                         in D.PROFILES[profile].items()})
                self.tech_profiles.append(profile)
        van_ids = insert_rows(self.session, Warehouse, vans)
        for row, van_id in zip(techs, van_ids, strict=True):
            row["van_warehouse_id"] = van_id
        self.tech_ids = insert_rows(self.session, Technician, techs)
        self.techs = [dict(row, id=i) for row, i in zip(techs, self.tech_ids, strict=True)]
        self.count("warehouses", len(van_ids))
        self.count("technicians", len(techs))

        skill_rows, shift_rows, cert_rows, absence_rows = [], [], [], []
        for tech, skills in zip(self.techs, self.tech_skills, strict=True):
            for code, level in skills.items():
                skill_rows.append({"technician_id": tech["id"],
                                   "skill_id": self.skill_ids[code], "level": level})
            for weekday in FULL_DAYS:
                shift_rows.append({"technician_id": tech["id"], "weekday": weekday,
                                   "start_time": SHIFT_START, "end_time": SHIFT_END})
            shift_rows.append({"technician_id": tech["id"], "weekday": HALF_DAY,
                               "start_time": SHIFT_START, "end_time": HALF_DAY_END})
            for code in self.rng.sample(sorted(skills), k=min(2, len(skills))):
                issued = self.today - timedelta(days=self.rng.randint(60, 1400))
                cert_rows.append({
                    "technician_id": tech["id"], "skill_id": self.skill_ids[code],
                    "name": f"{dict((s[0], s[1]) for s in D.SKILLS)[code]} certificate",
                    "issued_on": issued,
                    # Two-year certificates: the older ones have expired.
                    "expires_on": add_months(issued, 24),
                })
        # A few absences: one technician off on the next working day, others around it.
        nwd = self.summary.next_working_day
        for k, offset in enumerate((0, 0, 2, 5, -3, 9)):
            tech = self.techs[(k * 7 + 3) % len(self.techs)]
            day = nwd + timedelta(days=offset)
            days = 1 if k % 2 == 0 else 3
            absence_rows.append({
                "technician_id": tech["id"], "starts_at": local(day, time(0)),
                "ends_at": local(day + timedelta(days=days), time(0)),
                "reason": ("Sick leave", "Annual leave", "Training")[k % 3],
            })
        add_rows(self.session, TechnicianSkill, skill_rows)
        add_rows(self.session, Shift, shift_rows)
        add_rows(self.session, Certification, cert_rows)
        add_rows(self.session, Absence, absence_rows)
        self.absence_rows = absence_rows
        self.count("technician_skills", len(skill_rows))
        self.count("shifts", len(shift_rows))
        self.count("certifications", len(cert_rows))
        self.count("absences", len(absence_rows))

    def dealerships(self) -> None:
        rows = []
        for info in D.DEALERSHIPS:
            city = self.cities[info.city]
            district = next(d for d in city.districts if d.name == info.district)
            lat, lon = self.near(district.latitude, district.longitude, 0.5)
            rows.append({
                "code": info.code, "name": info.name, "region": city.region, "city": city.name,
                "address": self.address(city, district), "phone": info.phone,
                "latitude": lat, "longitude": lon, "timezone": "Asia/Tehran",
                "bays": info.bays, "opens_at": time.fromisoformat(info.opens),
                "closes_at": time.fromisoformat(info.closes), "working_days": "012356",
            })
        ids = insert_rows(self.session, Dealership, rows)
        self.dealership_ids = dict(zip((d.code for d in D.DEALERSHIPS), ids, strict=True))
        holidays = []
        for k, dealership_id in enumerate(ids):
            for day, name in sorted(self.holidays.items()):
                holidays.append({"dealership_id": dealership_id, "day": day, "name": name})
            training = self.working_day_after(self.today + timedelta(days=10 + 3 * k))
            if training not in self.holidays:
                holidays.append({"dealership_id": dealership_id, "day": training,
                                 "name": "Staff training day"})
        add_rows(self.session, DealershipHoliday, holidays)
        self.count("dealerships", len(ids))
        self.count("dealership_holidays", len(holidays))

    def users(self) -> None:
        tech = self.techs[0]
        links = {"technician": {"technician_id": tech["id"]},
                 "dealership": {"dealership_id": self.dealership_ids[D.DEALERSHIPS[0].code]}}
        names = {"technician": tech["name"], "dealership": D.DEALERSHIPS[0].name}
        self.user_ids: dict[str, int] = {}
        for username, password, role, full_name in D.DEMO_USERS:
            user = create_user(self.session, username=username, password=password, role=role,
                               full_name=full_name or names[role], **links.get(role, {}))
            self.user_ids[role] = user.id
            self.summary.logins.append((username, password, role))
        self.count("users", len(D.DEMO_USERS))

    # ---- customers and their installed base -----------------------------------------

    def customers(self) -> None:
        kinds = ["company"] * COMPANIES + ["person"] * (CUSTOMERS - COMPANIES)
        self.rng.shuffle(kinds)
        rows, self.customer_meta = [], []
        for kind in kinds:
            city = self.pick_city()
            first, last = self.person()
            if kind == "company":
                name = self.unique(lambda: (f"{self.rng.choice(D.COMPANY_STEMS)} "
                                            f"{self.rng.choice(D.COMPANY_KINDS)}"))
                slug = "".join(ch for ch in name.lower() if ch.isalnum())
                email = self.unique(lambda s=slug: f"info@{s}.ir")
                phone, contact = self.landline(city), f"{first} {last}"
            else:
                name = f"{first} {last}"
                email = (self.unique(lambda f=first, la=last: (
                    f"{f}.{la}{self.rng.randint(10, 999)}@"
                    f"{self.rng.choice(D.EMAIL_DOMAINS)}".lower()))
                    if self.rng.random() < 0.6 else None)
                phone = self.landline(city) if self.rng.random() < 0.3 else None
                contact = None
            mobile = self.mobile()
            consent = self.rng.random() < 0.6
            tier = self.rng.choices(list(CustomerTier), weights=[70, 20, 10])[0]
            rows.append({
                "name": name, "tier": tier, "contact_name": contact, "email": email,
                "phone": phone, "phone_key": phone_key(phone), "mobile": mobile,
                "mobile_key": phone_key(mobile), "region": city.region,
                "consent_marketing": consent,
                "consent_at": (local(self.today - timedelta(days=self.rng.randint(5, 900)),
                                     time(10)) if consent else None),
                "notes": None, "erased_at": None,
            })
            self.customer_meta.append({"kind": kind, "city": city})
        ids = insert_rows(self.session, Customer, rows)
        for meta, cid, row in zip(self.customer_meta, ids, rows, strict=True):
            meta["id"], meta["mobile"] = cid, row["mobile"]
        self.count("customers", len(ids))

        office_hours = {d: ["08:00", "17:00"] for d in ("sat", "sun", "mon", "tue", "wed")}
        office_hours["thu"] = ["08:00", "13:00"]
        home_hours = {d: ["09:00", "20:00"]
                      for d in ("sat", "sun", "mon", "tue", "wed", "thu")}
        site_rows, owners = [], []
        for meta in self.customer_meta:
            city = meta["city"]
            if meta["kind"] == "company":
                n_sites = self.rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
                labels = ["Head office", "Branch", "Warehouse"][:n_sites]
            else:
                labels = ["Home"]
            for label in labels:
                district = self.rng.choice(city.districts)
                lat, lon = self.near(district.latitude, district.longitude)
                site_rows.append({
                    "customer_id": meta["id"],
                    "name": label if label != "Branch" else f"Branch {district.name}",
                    "address": self.address(city, district), "city": city.name,
                    "region": city.region, "territory": city.key, "latitude": lat,
                    "longitude": lon,
                    "access_hours": office_hours if meta["kind"] == "company" else home_hours,
                    "notes": None,
                })
                owners.append(meta)
        site_ids = insert_rows(self.session, Site, site_rows)
        for meta, sid, row in zip(owners, site_ids, site_rows, strict=True):
            meta.setdefault("sites", []).append(dict(row, id=sid))
        self.count("sites", len(site_ids))

    def _product_of(self, kind: str) -> D.ProductModel:
        models = [p for p in D.PRODUCTS if p.kind == kind]
        return self.rng.choices(models, weights=[p.weight for p in models])[0]

    def assets(self) -> None:
        owners: list[tuple[dict, str]] = []
        for meta in self.customer_meta:
            if meta["kind"] == "person":
                owners.append((meta, "car"))
            else:
                owners.append((meta, self.rng.choices(("printer", "server"), (70, 30))[0]))
        companies = [m for m in self.customer_meta if m["kind"] == "company"]
        people = [m for m in self.customer_meta if m["kind"] == "person"]
        while len(owners) < ASSETS:
            if self.rng.random() < 0.75:
                kind = self.rng.choices(("printer", "server", "car"), (60, 25, 15))[0]
                owners.append((self.rng.choice(companies), kind))
            else:
                owners.append((self.rng.choice(people), "car"))

        rows, self.asset_meta = [], []
        for meta, kind in owners:
            model = self._product_of(kind)
            site = self.rng.choice(meta["sites"])
            installed = self.today - timedelta(days=self.rng.randint(20, 2200))
            row = {"product_id": self.product_ids[model.code], "customer_id": meta["id"],
                   "site_id": site["id"], "serial_number": None, "vin": None,
                   "install_date": installed,
                   "warranty_end": add_months(installed, model.warranty_months), "notes": None}
            if kind == "car":
                year = max(2010, min(2030, installed.year - self.rng.randint(0, 1)))
                plant = "T" if model.wmi == "NAA" else "K"

                def make_vin(m=model, y=year, p=plant):
                    raw = f"{m.wmi}{m.vds}0{YEAR_CODES[y]}{p}{self.rng.randrange(10**6):06d}"
                    return with_check_digit(raw)
                row["vin"] = self.unique(make_vin)
            else:
                alphabet = string.ascii_uppercase + string.digits

                def make_serial(m=model, chars=alphabet):
                    size = 10 - len(m.serial_prefix)
                    return m.serial_prefix + "".join(self.rng.choice(chars) for _ in range(size))
                row["serial_number"] = self.unique(make_serial)
            rows.append(row)
            self.asset_meta.append({"customer": meta, "site": site, "model": model,
                                    "fleet": kind == "car" and meta["kind"] == "company"})
        ids = insert_rows(self.session, Asset, rows)
        for meta, aid, row in zip(self.asset_meta, ids, rows, strict=True):
            meta["id"], meta["vin"], meta["warranty_end"] = aid, row["vin"], row["warranty_end"]
        self.count("assets", len(ids))

    def contracts(self) -> None:
        companies = [m for m in self.customer_meta if m["kind"] == "company"]
        people = [m for m in self.customer_meta if m["kind"] == "person"]
        chosen = self.rng.sample(companies, 140) + self.rng.sample(people, 27)
        chosen.sort(key=lambda m: m["id"])
        levels = {  # name → (24x7, pm included, {priority: (response, resolution)})
            "Gold care": (True, True, {1: (120, 360), 2: (240, 720), 3: (480, 1440),
                                       4: (1440, 4320)}),
            "Silver care": (False, True, {1: (240, 480), 2: (480, 1440), 3: (1440, 2880),
                                          4: (2880, 7200)}),
            "Bronze care": (False, False, {1: (480, 960), 2: (960, 2880), 3: (2880, 5760)}),
        }
        rows, plans = [], []
        for n, meta in enumerate(chosen, start=1):
            name = self.rng.choices(list(levels), weights=(25, 45, 30))[0]
            always, pm, targets = levels[name]
            starts = self.today - timedelta(days=self.rng.randint(10, 420))
            rows.append({
                "number": f"SC-{starts.year}-{n:04d}", "customer_id": meta["id"], "name": name,
                "starts_on": starts, "ends_on": starts + timedelta(days=364),
                "coverage_24x7": always, "coverage_days": "012356",
                "coverage_start": time(8), "coverage_end": time(18),
                "timezone": "Asia/Tehran", "pm_included": pm,
            })
            plans.append((meta, targets))
        ids = insert_rows(self.session, ServiceContract, rows)
        target_rows, links = [], []
        self.contract_of_asset: dict[int, ServiceContract] = {}
        assets_by_customer = defaultdict(list)
        for asset in self.asset_meta:
            assets_by_customer[asset["customer"]["id"]].append(asset)
        for cid, row, (meta, targets) in zip(ids, rows, plans, strict=True):
            # A detached copy for the SLA arithmetic of the demo work orders.
            contract = ServiceContract(id=cid, **row)
            contract.targets = [SlaTarget(priority=p, response_minutes=r, resolution_minutes=s)
                                for p, (r, s) in targets.items()]
            active = row["starts_on"] <= self.today <= row["ends_on"]
            for p, (r, s) in targets.items():
                target_rows.append({"contract_id": cid, "priority": p, "response_minutes": r,
                                    "resolution_minutes": s})
            for asset in assets_by_customer[meta["id"]]:
                links.append({"asset_id": asset["id"], "contract_id": cid})
                if active:
                    self.contract_of_asset[asset["id"]] = contract
                    asset["pm_contract"] = row["pm_included"]
        add_rows(self.session, SlaTarget, target_rows)
        add_rows(self.session, AssetContract, links)
        self.count("contracts", len(ids))

    # ---- stock: only through the ledger ----------------------------------------------

    def stock(self) -> None:
        moves = 0
        on_hand: dict[tuple[int, str], int] = defaultdict(int)
        for sku, *_ in D.PARTS:
            qty = self.rng.randint(300, 600) if sku == D.RECALL_PART else (
                self.rng.randint(40, 400))
            stock.receive(self.session, self.part_ids[sku], qty, self.central_id, self.actor,
                          note="Opening stock (demo)")
            on_hand[(self.central_id, sku)] = qty
            moves += 1
        for city in D.CITIES:
            share = 0.22 if city.key == "tehran" else 0.12
            for sku, *_ in D.PARTS:
                qty = max(1, int(on_hand[(self.central_id, sku)] * share))
                stock.transfer(self.session, self.part_ids[sku], qty, self.central_id,
                               self.regional_ids[city.key], self.actor,
                               note="Regional replenishment (demo)")
                on_hand[(self.central_id, sku)] -= qty
                on_hand[(self.regional_ids[city.key], sku)] += qty
                moves += 1
        kinds_of_profile = {"office": ("printer",), "datacenter": ("server", "printer"),
                            "auto": ("car",), "generalist": ("printer", "car")}
        for tech, profile in zip(self.techs, self.tech_profiles, strict=True):
            regional = self.regional_ids[tech["territory"]]
            pool = sorted({sku for k in kinds_of_profile[profile]
                           for sku in self.parts_by_kind[k]})
            for sku in self.rng.sample(pool, k=min(len(pool), self.rng.randint(4, 7))):
                qty = min(self.rng.randint(1, 4), on_hand[(regional, sku)])
                if qty <= 0:
                    continue
                stock.transfer(self.session, self.part_ids[sku], qty, regional,
                               tech["van_warehouse_id"], self.actor,
                               note="Van stock (demo)")
                on_hand[(regional, sku)] -= qty
                moves += 1
        self.count("stock_movements", moves)

    # ---- recall campaign -------------------------------------------------------------

    @property
    def capital_phase_start(self) -> date:
        return self.today - timedelta(days=CAPITAL_PHASE_AGE_DAYS)

    def campaign(self) -> None:
        model = self.models[D.RECALL_PRODUCT]
        campaign_id = insert_rows(self.session, RecallCampaign, [{
            "code": "RC-DENA-FPR-01",
            "title": f"{model.name}: fuel pump relay replacement",
            "description": ("The fuel pump relay of early production may overheat and stop "
                            "the engine. Replace the relay (about one hour, free of charge)."),
            "status": CampaignStatus.ACTIVE, "remedy_minutes": 60,
            "skill_id": self.skill_ids["car-electrical"], "parts_available": True,
        }])[0]
        self.campaign_id = campaign_id
        add_rows(self.session, RecallCampaignProduct,
                    [{"campaign_id": campaign_id, "product_id": self.product_ids[model.code]}])
        add_rows(self.session, CampaignPart, [{
            "campaign_id": campaign_id, "part_id": self.part_ids[D.RECALL_PART],
            "quantity": 1}])
        # The capital's phase began six weeks ago (see `recall_history`); the others follow.
        phases = [{"campaign_id": campaign_id, "sequence": 1, "region": D.CAPITAL_REGION,
                   "starts_on": self.capital_phase_start}]
        for city in D.CITIES:
            if city.region != D.CAPITAL_REGION:
                phases.append({"campaign_id": campaign_id, "sequence": 2,
                               "region": city.region,
                               "starts_on": self.today + timedelta(days=17)})
        add_rows(self.session, CampaignPhase, phases)
        self.recall_assets = [a for a in self.asset_meta if a["model"].code == model.code]
        vins = [{"campaign_id": campaign_id, "vin": a["vin"], "asset_id": a["id"]}
                for a in self.recall_assets]
        add_rows(self.session, CampaignVin, vins)
        self.count("recall_campaigns", 1)
        self.count("campaign_vins", len(vins))

    # ---- preventive maintenance ------------------------------------------------------

    def pm_plans(self) -> None:
        first_of_month = self.today.replace(day=1)
        covered = [a for a in self.asset_meta if a.get("pm_contract")]
        lasers = [a for a in covered if a["model"].skills[0] == "printer-laser"]
        servers = [a for a in covered if a["model"].kind == "server"]
        inkjets = [a for a in covered if a["model"].skills[0] == "printer-inkjet"]
        fleet = [a for a in self.asset_meta if a["fleet"]]
        plans = [
            ({"name": "Quarterly laser printer service",
              "description": "Contracts with preventive maintenance: clean, rollers, fuser.",
              "rrule": "FREQ=MONTHLY;INTERVAL=3;BYDAY=SA;BYSETPOS=1",
              "dtstart": local(first_of_month, time(9)), "meter_interval": None,
              "meter_unit": None, "lead_days": 14, "estimated_minutes": 60, "priority": 4,
              "checklist": ["Clean paper path", "Replace pickup rollers", "Check fuser",
                            "Print test page"]},
             lasers, {"printer-laser": 2}, {"ROLLER-PICKUP-KIT": 1}),
            ({"name": "Semi-annual server health check",
              "description": "Firmware, fans, disks and event logs of covered servers.",
              "rrule": "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=15",
              "dtstart": local(first_of_month, time(10)), "meter_interval": None,
              "meter_unit": None, "lead_days": 21, "estimated_minutes": 120, "priority": 3,
              "checklist": ["Update firmware", "Check fans and PSUs", "Review RAID status",
                            "Export event log"]},
             servers, {"server-hw": 3}, {}),
            ({"name": "Yearly inkjet head cleaning",
              "description": "Head cleaning and ink system check before the busy season.",
              "rrule": "FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=1",
              "dtstart": local(date(self.today.year, 1, 1), time(9)), "meter_interval": None,
              "meter_unit": None, "lead_days": 14, "estimated_minutes": 45, "priority": 4,
              "checklist": ["Clean heads", "Check ink tanks", "Nozzle test"]},
             inkjets, {"printer-inkjet": 1}, {}),
            ({"name": "Fleet car service every 10,000 km",
              "description": "Oil, filters and inspection of company cars.",
              "rrule": None, "dtstart": None, "meter_interval": 10000.0, "meter_unit": "km",
              "lead_days": 7, "estimated_minutes": 90, "priority": 4,
              "checklist": ["Change oil", "Replace oil and air filters", "Check brakes"]},
             fleet, {"car-engine": 2}, {"OIL-FILTER-TU5": 1, "AIR-FILTER-EF7": 1}),
        ]
        ids = insert_rows(self.session, PmPlan, [dict(p[0], timezone="Asia/Tehran",
                                                      active=True) for p in plans])
        links, skills, parts, readings = [], [], [], []
        for plan_id, (_, assets, need, spares) in zip(ids, plans, strict=True):
            links += [{"pm_plan_id": plan_id, "asset_id": a["id"]} for a in assets]
            skills += [{"pm_plan_id": plan_id, "skill_id": self.skill_ids[c], "min_level": lvl}
                       for c, lvl in need.items()]
            parts += [{"pm_plan_id": plan_id, "part_id": self.part_ids[s], "quantity": q}
                      for s, q in spares.items()]
        for a in fleet:
            readings.append({"asset_id": a["id"], "value": float(self.rng.randint(5, 180) * 1000
                                                                  + self.rng.randint(0, 999)),
                             "unit": "km", "source": "demo",
                             "read_at": local(self.today - timedelta(days=self.rng.randint(1, 60)),
                                              time(11))})
        add_rows(self.session, PmPlanAsset, links)
        add_rows(self.session, PmPlanSkill, skills)
        add_rows(self.session, PmPlanPart, parts)
        add_rows(self.session, MeterReading, readings)
        self.count("pm_plans", len(ids))
        self.count("meter_readings", len(readings))

    # ---- history: tickets and interactions ------------------------------------------

    def _assets_of(self) -> dict[int, list[dict]]:
        by_customer = defaultdict(list)
        for a in self.asset_meta:
            by_customer[a["customer"]["id"]].append(a)
        return by_customer

    def history(self) -> None:
        by_customer = self._assets_of()
        categories = list(D.TICKET_TOPICS)
        channels = [TicketChannel.PHONE, TicketChannel.WEB, TicketChannel.EMAIL,
                    TicketChannel.WALK_IN, TicketChannel.IVR]
        to_interaction = {TicketChannel.PHONE: InteractionChannel.CALL,
                          TicketChannel.IVR: InteractionChannel.CALL,
                          TicketChannel.WEB: InteractionChannel.MESSAGE,
                          TicketChannel.EMAIL: InteractionChannel.EMAIL,
                          TicketChannel.WALK_IN: InteractionChannel.VISIT}
        tickets, moments = [], []
        for _ in range(HISTORY_TICKETS):
            meta = self.rng.choice(self.customer_meta)
            asset = self.rng.choice(by_customer[meta["id"]])
            kind = asset["model"].kind
            category = self.rng.choices(categories, weights=(40, 24, 28, 8))[0]
            topics = [t for t in D.TICKET_TOPICS[category] if t[2] in (None, kind)]
            if not topics:
                category = "request"
                topics = [t for t in D.TICKET_TOPICS[category] if t[2] in (None, kind)]
            topic, subject, _ = self.rng.choice(topics)
            age = self.rng.randint(1, 180)
            hour = self.rng.choices((self.rng.randint(8, 17), self.rng.choice((6, 19, 21))),
                                    weights=(85, 15))[0]
            opened = local(self.today - timedelta(days=age), time(hour, self.rng.randint(0, 59)))
            if age > 14:
                status = self.rng.choices((TicketStatus.CLOSED, TicketStatus.RESOLVED),
                                          (80, 20))[0]
            else:
                status = self.rng.choice(list(TicketStatus))
            closed = (opened + timedelta(hours=self.rng.randint(2, 120))
                      if status in (TicketStatus.CLOSED, TicketStatus.RESOLVED) else None)
            channel = self.rng.choices(channels, weights=(55, 15, 10, 5, 15))[0]
            tickets.append({
                "customer_id": meta["id"], "channel": channel,
                "category": TicketCategory(category), "topic": topic,
                "product_id": self.product_ids[asset["model"].code], "asset_id": asset["id"],
                "region": meta["city"].region, "subject": subject, "description": None,
                "priority": self.rng.choices((1, 2, 3, 4), (5, 20, 50, 25))[0],
                "status": status,
                "calling_number": meta["mobile"] if channel in (TicketChannel.PHONE,
                                                                TicketChannel.IVR) else None,
                "assigned_user_id": self.user_ids["agent"], "closed_at": closed,
                "created_at": opened, "updated_at": closed or opened,
            })
            moments.append(opened)
        ticket_ids = insert_rows(self.session, Ticket, tickets)
        interactions = []
        for tid, row in zip(ticket_ids, tickets, strict=True):
            interactions.append(self._interaction(
                row["customer_id"], to_interaction[row["channel"]], Direction.INBOUND,
                row["calling_number"], row["subject"], row["created_at"], ticket_id=tid))
        for _ in range(LOOSE_INTERACTIONS):
            meta = self.rng.choice(self.customer_meta)
            outbound = self.rng.random() < 0.4
            at = local(self.today - timedelta(days=self.rng.randint(0, 120)),
                       time(self.rng.randint(7, 20), self.rng.randint(0, 59)))
            interactions.append(self._interaction(
                meta["id"], InteractionChannel.CALL,
                Direction.OUTBOUND if outbound else Direction.INBOUND, meta["mobile"],
                "Satisfaction follow-up call" if outbound else "General question", at))
        add_rows(self.session, Interaction, interactions)
        self.count("tickets", len(ticket_ids))
        self.count("interactions", len(interactions))

    # ---- months of finished visits ---------------------------------------------------

    def past_visits(self) -> None:
        """Visits of the last `HISTORY_DAYS` days, done: arrivals, completions, failures.

        Each technician works their shift on each working day, as planned the evening
        before: drives (timed by the optimizer's travel model from the previous place),
        works the estimate, takes the lunch break after noon, drives on; the day as it went
        runs a little behind the plan (arrivals a few minutes late, work taking 70-135 % of
        the estimate). Visits are to assets not seen for 30 days (an installation has no
        asset yet), so repeat visits stay a minority. The work order was opened before the visit
        (hours for a breakdown, days for planned work) and carries the SLA due times of its
        priority and contract, so hits and misses follow from the timestamps. A few visits
        fail ("cannot complete", parts to order) and get a follow-up visit on the same asset
        some working days later; a few assets break again within 30 days. Uses its own
        random stream, so the rest of the demo is the same with or without it.
        """
        rng = random.Random(f"{self.seed}-past-visits")
        by_territory = defaultdict(list)
        for a in self.asset_meta:
            by_territory[a["site"]["territory"]].append(a)
        kinds = (WorkOrderType.BREAKDOWN, WorkOrderType.PREVENTIVE, WorkOrderType.INSPECTION,
                 WorkOrderType.INSTALLATION)
        durations = {WorkOrderType.BREAKDOWN: (45, 150), WorkOrderType.PREVENTIVE: (60, 120),
                     WorkOrderType.INSTALLATION: (90, 180), WorkOrderType.INSPECTION: (30, 90)}
        priorities = {WorkOrderType.BREAKDOWN: (1, 2, 2, 3, 3, 3),
                      WorkOrderType.PREVENTIVE: (3, 4), WorkOrderType.INSTALLATION: (2, 3),
                      WorkOrderType.INSPECTION: (3, 4)}
        # Opened this long before the visit: most within the response target, some not.
        lead_hours = {1: (1, 4.5), 2: (2, 9), 3: (4, 28), 4: (24, 80)}
        absent = {(row["technician_id"], day)
                  for row in self.absence_rows
                  for day in _days(row["starts_at"].astimezone(TZ).date(),
                                   row["ends_at"].astimezone(TZ).date())}
        follow_ups: dict[str, list[tuple[date, int, dict]]] = defaultdict(list)
        recent: dict[str, list[tuple[date, dict]]] = defaultdict(list)
        last_visit: dict[int, date] = {}
        # Assets not visited for REPEAT_DAYS, per territory, and those visited since (in
        # visit order), which come back once their last visit is that old.
        eligible = {t: list(assets) for t, assets in by_territory.items()}
        resting: dict[str, deque[tuple[date, dict]]] = defaultdict(deque)

        def pick(territory: str) -> tuple[dict, bool]:
            """A random asset not visited for REPEAT_DAYS (True), else the least recently
            visited one (False)."""
            pool = eligible[territory]
            if pool:
                k = rng.randrange(len(pool))
                asset, pool[k] = pool[k], pool[-1]
                pool.pop()
                return asset, True
            while resting[territory]:
                seen, asset = resting[territory].popleft()
                if last_visit.get(asset["id"]) == seen:
                    return asset, False
            return rng.choice(by_territory[territory]), False

        travel = GeodesicProvider()
        orders: list[dict[str, Any]] = []
        extras: list[tuple[dict, int | None, str]] = []  # asset, follow-up-of index, summary
        # Each technician-day as driven: (day, territory) -> [(technician id, departure,
        # stops, return seconds, return metres)]; a stop is (order index or None for the
        # break, arrival, start, end, travel seconds, travel metres), seconds from midnight.
        self.past_days: dict[tuple[date, str], list[tuple]] = defaultdict(list)
        for back in range(HISTORY_DAYS, 0, -1):
            day = self.today - timedelta(days=back)
            if day.weekday() == FRIDAY or day in self.holidays:
                continue
            for territory, queue in resting.items():
                while queue and (day - queue[0][0]).days >= REPEAT_DAYS:
                    seen, asset = queue.popleft()
                    if last_visit.get(asset["id"]) == seen:
                        eligible[territory].append(asset)
            midnight = datetime.combine(day, time(0), tzinfo=TZ)
            end = local(day, self.shift_end(day))
            break_after = local(day, time(12))
            for tech in self.techs:
                if (tech["id"], day) in absent:
                    continue
                territory = tech["territory"]
                here = scheduler.Location(tech["home_latitude"], tech["home_longitude"])
                # Two clocks: the plan (published the evening before: estimates and the
                # travel model) and the day as it went (late arrivals, overruns).
                cursor = local(day, SHIFT_START)
                actual = cursor
                departure = None
                stops: list[tuple] = []
                rested = False
                while True:
                    if not rested and cursor >= break_after:
                        rested = True
                        pause = _seconds(midnight, cursor)
                        stops.append((None, pause, pause, pause + BREAK_SECONDS, 0, 0))
                        cursor += timedelta(seconds=BREAK_SECONDS)
                        actual = max(actual + timedelta(seconds=BREAK_SECONDS), cursor)
                    due_follow_up = [f for f in follow_ups[territory] if f[0] <= day]
                    follow_up_of = None
                    from_pool = False
                    if due_follow_up:
                        _, follow_up_of, asset = due_follow_up[0]
                        first = orders[follow_up_of]
                        wo_type, priority = first["type"], first["priority"]
                        summary = first["summary"]
                    else:
                        wo_type = rng.choices(kinds, (50, 25, 15, 10))[0]
                        if (wo_type is WorkOrderType.BREAKDOWN and recent[territory]
                                and rng.random() < RECURRENCE_SHARE):
                            asset = rng.choice(recent[territory])[1]
                        elif wo_type is WorkOrderType.INSTALLATION:
                            # New equipment at a customer's site: no asset yet.
                            asset = dict(rng.choice(by_territory[territory]), id=None)
                        else:
                            asset, from_pool = pick(territory)
                        priority = rng.choice(priorities[wo_type])
                        model = asset["model"]
                        summary = (f"{rng.choice(D.WORK_SUMMARIES[wo_type.value][model.kind])}"
                                   f" ({model.name})")[:200]
                    lo, hi = durations[wo_type]
                    minutes = 15 * rng.randint(lo // 15, hi // 15)
                    if follow_up_of is not None:
                        minutes = orders[follow_up_of]["estimated_minutes"]
                    site = scheduler.Location(asset["site"]["latitude"],
                                              asset["site"]["longitude"])
                    drive_s, drive_m = travel.pair(here, site)
                    start = cursor + timedelta(seconds=drive_s)
                    if start + timedelta(minutes=minutes) > end:
                        if from_pool:
                            eligible[territory].append(asset)
                        break
                    if follow_up_of is not None:
                        follow_ups[territory].remove(due_follow_up[0])
                    if departure is None:
                        departure = _seconds(midnight, cursor)
                    worked = timedelta(minutes=round(minutes * rng.uniform(0.7, 1.35)))
                    if follow_up_of is None:
                        lo_h, hi_h = lead_hours[priority]
                        opened = start - timedelta(minutes=rng.randint(int(lo_h * 60),
                                                                       int(hi_h * 60)))
                        due = due_times(opened, priority,
                                        self.contract_of_asset.get(asset["id"]))
                        sla = {"contract_id": due.contract_id,
                               "response_due_at": due.response_due_at,
                               "resolution_due_at": due.resolution_due_at}
                    else:
                        # Opened when the first visit failed, with its due times: the
                        # customer's clock does not restart (as the product's follow-up).
                        first = orders[follow_up_of]
                        opened = first["updated_at"]
                        sla = {k: first[k] for k in ("contract_id", "response_due_at",
                                                     "resolution_due_at")}
                    failed = follow_up_of is None and rng.random() < FAILED_SHARE
                    status = (WorkOrderStatus.CANNOT_COMPLETE if failed
                              else WorkOrderStatus.COMPLETED)
                    planned_end = start + timedelta(minutes=minutes)
                    # Traffic, parking, finding the contact: a little after the plan, and
                    # never before the previous visit is done.
                    arrived = (max(start, actual + timedelta(seconds=drive_s))
                               + timedelta(minutes=rng.randint(0, 12)))
                    done = arrived + worked
                    stops.append((len(orders), _seconds(midnight, start),
                                  _seconds(midnight, start), _seconds(midnight, planned_end),
                                  drive_s, drive_m))
                    orders.append({
                        "type": wo_type, "status": status, "priority": priority,
                        "summary": summary,
                        "description": f"{wo_type.value.title()} at {asset['site']['name']}.",
                        "customer_id": asset["customer"]["id"],
                        "site_id": asset["site"]["id"], "asset_id": asset["id"],
                        "ticket_id": None, **sla, "estimated_minutes": minutes,
                        "technician_id": tech["id"], "scheduled_start_at": start,
                        "scheduled_end_at": planned_end,
                        "eta_at": start, "pinned": False,
                        "started_at": arrived - timedelta(seconds=drive_s),
                        "arrived_at": arrived,
                        "completed_at": None if failed else done,
                        "resolution": None if failed else "Fixed and tested with the customer.",
                        "resolution_code": None if failed else "fixed",
                        # A follow-up visit means the first one did not fix it.
                        "first_time_fix": None if failed else follow_up_of is None,
                        "cannot_complete_reason": ("A part has to be ordered" if failed
                                                   else None),
                        "pm_due_on": (day + timedelta(days=rng.randint(-3, 7))
                                      if wo_type is WorkOrderType.PREVENTIVE
                                      and follow_up_of is None else None),
                        "checklist": None, "created_at": opened,
                        "updated_at": done, "version": 1,
                    })
                    extras.append((asset, follow_up_of, summary))
                    if asset["id"] is not None:
                        last_visit[asset["id"]] = day
                        resting[territory].append((day, asset))
                    if failed:
                        later = day
                        for _ in range(rng.randint(2, 6)):
                            later = self.working_day_after(later)
                        follow_ups[territory].append((later, len(orders) - 1, asset))
                    elif asset["id"] is not None:
                        recent[territory].append((day, asset))
                    cursor = planned_end
                    actual = done
                    here = site
                if departure is not None:
                    home = scheduler.Location(tech["home_latitude"], tech["home_longitude"])
                    back_s, back_m = travel.pair(here, home)
                    self.past_days[(day, territory)].append(
                        (tech["id"], departure, stops, back_s, back_m))
            for territory, fixed in recent.items():  # assets fixed in the last 30 days
                recent[territory] = [(d, a) for d, a in fixed if (day - d).days < 29]
        # First visits, then the follow-ups, which name the visit they follow.
        firsts = [k for k, extra in enumerate(extras) if extra[1] is None]
        ids: list[int] = [0] * len(orders)
        for k, ident in zip(firsts, insert_rows(self.session, WorkOrder,
                                                [orders[k] for k in firsts]), strict=True):
            ids[k] = ident
        seconds = [k for k, extra in enumerate(extras) if extra[1] is not None]
        for k, ident in zip(seconds, insert_rows(
                self.session, WorkOrder,
                [dict(orders[k], follow_up_of_id=ids[extras[k][1]]) for k in seconds]),
                strict=True):
            ids[k] = ident
        transitions, parts = [], []
        for wo_id, row, (asset, _, _) in zip(ids, orders, extras, strict=True):
            steps = [(None, "new", row["created_at"], None),
                     ("new", "scheduled", row["created_at"] + timedelta(minutes=20), None),
                     ("scheduled", "dispatched", row["created_at"] + timedelta(minutes=25),
                      None),
                     ("dispatched", "en_route", row["started_at"], None),
                     ("en_route", "on_site", row["arrived_at"], None)]
            if row["status"] is WorkOrderStatus.COMPLETED:
                steps.append(("on_site", "completed", row["completed_at"], None))
            else:
                steps.append(("on_site", "cannot_complete", row["updated_at"],
                              row["cannot_complete_reason"]))
            transitions += [{"work_order_id": wo_id, "from_status": a, "to_status": b,
                             "actor_id": None, "actor_name": self.actor.name, "at": at,
                             "reason": why} for a, b, at, why in steps]
            if (row["type"] in (WorkOrderType.BREAKDOWN, WorkOrderType.PREVENTIVE)
                    and row["status"] is WorkOrderStatus.COMPLETED
                    and rng.random() < PARTS_USED_SHARE):
                for sku in rng.sample(self.parts_by_kind[asset["model"].kind],
                                      k=rng.randint(1, 2)):
                    parts.append({"work_order_id": wo_id, "part_id": self.part_ids[sku],
                                  "quantity": 1, "reserved": 0, "issued": 1})
        add_rows(self.session, WorkOrderTransition, transitions)
        add_rows(self.session, WorkOrderPart, parts)
        self.count("past_work_orders", len(ids))
        self.count("past_parts_used", len(parts))
        self._open_follow_ups([f for pending in follow_ups.values() for f in pending],
                              orders, extras, ids)
        self.past_plans(ids)

    def _open_follow_ups(self, pending: list[tuple[date, int, dict]],
                         orders: list[dict[str, Any]], extras: list[tuple],
                         ids: list[int]) -> None:
        """Visits that failed in the last days: the follow-up the product opened when the
        technician reported it (new, not yet planned), as `cannot complete` creates it."""
        rows, firsts = [], []
        for _, index, asset in sorted(pending, key=lambda f: f[1]):
            first = orders[index]
            rows.append({k: first[k] for k in (
                "type", "priority", "summary", "description", "customer_id", "site_id",
                "asset_id", "ticket_id", "contract_id", "estimated_minutes",
                "response_due_at", "resolution_due_at", "checklist")}
                | {"status": WorkOrderStatus.NEW, "pinned": False, "version": 1,
                   "follow_up_of_id": ids[index], "created_at": first["updated_at"],
                   "updated_at": first["updated_at"]})
            firsts.append((index, asset))
        new_ids = insert_rows(self.session, WorkOrder, rows)
        skills, transitions = [], []
        for wo_id, (index, asset) in zip(new_ids, firsts, strict=True):
            skills += [{"work_order_id": wo_id, "skill_id": self.skill_ids[code],
                        "min_level": level}
                       for code, level in asset["model"].declared_skills]
            transitions.append({
                "work_order_id": wo_id, "from_status": None, "to_status": "new",
                "actor_id": None, "actor_name": self.actor.name,
                "at": orders[index]["updated_at"],
                "reason": (f"Follow-up of work order {ids[index]}: "
                           f"{orders[index]['cannot_complete_reason']}")})
        add_rows(self.session, WorkOrderSkill, skills)
        add_rows(self.session, WorkOrderTransition, transitions)
        self.count("open_follow_ups", len(new_ids))

    def past_plans(self, order_ids: list[int]) -> None:
        """The published plan of each past day and territory: the technicians' days as
        `past_visits` drove them (legs timed by the optimizer's own travel model), stored as
        a finished, published optimization run, so the board and the travel KPI of a past
        day read what happened. Each run says in its message that it is demo history."""
        rows = []
        for (day, territory), days in sorted(self.past_days.items()):
            midnight = datetime.combine(day, time(0), tzinfo=TZ)
            routes = []
            for tech_id, departure, stops, back_s, back_m in days:
                route_stops = []
                for index, arrival, start, end, drive_s, drive_m in stops:
                    if index is None:
                        route_stops.append(scheduler.Stop(
                            kind=scheduler.model.STOP_BREAK, arrival=arrival, start=start,
                            end=end))
                    else:
                        route_stops.append(scheduler.Stop(
                            kind=scheduler.model.STOP_JOB, arrival=arrival, start=start,
                            end=end, job_id=str(order_ids[index]), travel_seconds=drive_s,
                            travel_metres=drive_m))
                last_end = route_stops[-1].end
                routes.append(scheduler.Route(
                    technician_id=str(tech_id), day=0, start=departure, end=last_end + back_s,
                    stops=route_stops, return_travel_seconds=back_s,
                    return_travel_metres=back_m))
            plan = scheduler.Plan(routes=routes)
            jobs = [s.job_id for r in routes for s in r.stops
                    if s.kind == scheduler.model.STOP_JOB]
            # Solved and published the evening before, as the nightly re-plan does.
            evening = local(day - timedelta(days=1), time(18, 30))
            rows.append({
                "status": RunStatus.FINISHED, "plan_date": day, "horizon_days": 1,
                "territory": territory, "parameters": {}, "input_snapshot": None,
                "result": {"origin": midnight.isoformat(), "plan": plan.to_dict(),
                           "skipped": {}, "versions": {j: 1 for j in jobs},
                           "violations": [], "phases": []},
                "objective": None, "progress": 1.0,
                "message": "finished (demo history: the day as it was driven)",
                "assigned_count": len(jobs), "unassigned_count": 0,
                "started_at": evening, "finished_at": evening, "published_at": evening,
                "published_by_id": self.user_ids["dispatcher"],
                "created_by_id": self.user_ids["dispatcher"],
                "created_at": evening, "updated_at": evening,
            })
        add_rows(self.session, OptimizationRun, rows)
        self.count("past_published_runs", len(rows))

    def recall_history(self) -> None:
        """Six weeks of the recall campaign in the capital's region, as the recall API
        leaves it: owners invited to a dealership day (a place held), booked ones, remedies
        done (a completed recall work order each) and no-shows on past days, a few
        cancellations, and owners not yet invited. Every held place is counted in the
        dealership's capacity ledger (its shared pool of the day). Owners of the other
        regions wait for their phase; cars with a recall visit already planned in the field
        are left out. Uses its own random stream."""
        rng = random.Random(f"{self.seed}-recall-history")
        campaign = self.session.get_one(RecallCampaign, self.campaign_id)
        minutes = recall_services.place_minutes(self.session, campaign)
        dealers = [d for d in self.session.scalars(
            select(Dealership).where(Dealership.region == D.CAPITAL_REGION)
            .order_by(Dealership.id))]
        holidays = {d.id: {h.day for h in d.holidays} for d in dealers}
        first = self.capital_phase_start
        open_days = {d.id: [day for day in _days(first, self.today + timedelta(days=22))
                            if day != self.today
                            and recall_services.daily_capacity(d, minutes, day, holidays[d.id])]
                     for d in dealers}
        owners = [a for a in self.recall_assets
                  if a["site"]["region"] == D.CAPITAL_REGION
                  and a["id"] not in self.recall_in_field]
        rng.shuffle(owners)
        held: dict[tuple[int, date], list[int]] = defaultdict(list)  # (dealer, day) -> rows
        rows: list[dict[str, Any]] = []
        for asset in owners:
            fate = rng.choices(("past", "booked", "invited", "cancelled", "waiting"),
                               (52, 16, 14, 6, 12))[0]
            if fate == "waiting":
                continue  # not yet invited: the agent or the owner can still book
            dealer = min(dealers, key=lambda d: (d.latitude - asset["site"]["latitude"]) ** 2
                         + (d.longitude - asset["site"]["longitude"]) ** 2
                         + rng.uniform(0, 0.002))
            past = [d for d in open_days[dealer.id] if d < self.today]
            future = [d for d in open_days[dealer.id] if d > self.today]
            day = rng.choice(past if fate == "past" else future)
            invited = local(max(first, day - timedelta(days=rng.randint(7, 20))), time(10))
            status = {"past": AppointmentStatus.COMPLETED, "booked": AppointmentStatus.BOOKED,
                      "invited": AppointmentStatus.INVITED,
                      "cancelled": AppointmentStatus.CANCELLED}[fate]
            if fate == "past" and rng.random() < NO_SHOW_SHARE:
                status = AppointmentStatus.NO_SHOW
            booked = (invited + timedelta(hours=rng.randint(2, 96))
                      if status is not AppointmentStatus.INVITED else None)
            slot = time(dealer.opens_at.hour + rng.randint(0, 6))
            row = {
                "campaign_id": campaign.id, "vin": asset["vin"], "asset_id": asset["id"],
                "customer_id": asset["customer"]["id"], "dealership_id": dealer.id,
                "day": day, "slot": slot, "status": status, "invited_at": invited,
                "booked_at": booked, "work_order_id": None, "pool_id": None,
                "completed_at": (local(day, time(slot.hour + 1))
                                 if status is AppointmentStatus.COMPLETED else None),
                "notes": ("Cancelled by the owner: sold the car"
                          if status is AppointmentStatus.CANCELLED else None),
                "created_at": invited, "updated_at": booked or invited,
            }
            if status is not AppointmentStatus.CANCELLED:
                held[(dealer.id, day)].append(len(rows))
            rows.append(row)
        by_id = {d.id: d for d in dealers}
        pools = sorted(held.items())
        ledger = [{"dealership_id": dealer_id, "campaign_id": None, "day": day,
                   "capacity": recall_services.daily_capacity(
                       by_id[dealer_id], minutes, day, holidays[dealer_id]),
                   "booked": len(indexes), "reserved": 0, "overridden": False}
                  for (dealer_id, day), indexes in pools]
        for (_, indexes), pool_id in zip(pools, insert_rows(self.session, DealershipDay,
                                                            ledger), strict=True):
            for k in indexes:
                rows[k]["pool_id"] = pool_id
        self._recall_work_orders(campaign, by_id, rows)
        add_rows(self.session, RecallAppointment, rows)
        self.count("recall_appointments", len(rows))
        self.count("dealership_days", len(ledger))

    def _recall_work_orders(self, campaign: RecallCampaign, dealers: dict[int, Dealership],
                            rows: list[dict[str, Any]]) -> None:
        """A completed recall work order for each remedy done, as completing an
        appointment writes it (done in the dealership's workshop in one step)."""
        done = [r for r in rows if r["status"] is AppointmentStatus.COMPLETED]
        if not done:
            return
        by_vin = {a["vin"]: a for a in self.recall_assets}
        orders = []
        for r in done:
            dealer = dealers[r["dealership_id"]]
            asset = by_vin[r["vin"]]
            orders.append({
                "type": WorkOrderType.RECALL, "status": WorkOrderStatus.COMPLETED,
                "priority": 3, "summary": f"Recall {campaign.code}: {campaign.title}"[:200],
                "description": (f"Remedy done at {dealer.name} ({dealer.code}) on "
                                f"{r['day'].isoformat()} for VIN {r['vin']}."),
                "customer_id": r["customer_id"], "site_id": asset["site"]["id"],
                "asset_id": r["asset_id"], "ticket_id": None,
                "estimated_minutes": campaign.remedy_minutes, "pinned": False,
                "completed_at": r["completed_at"],
                "resolution": f"Recall remedy {campaign.code} done.",
                "first_time_fix": True, "checklist": None,
                "created_at": r["completed_at"], "updated_at": r["completed_at"],
                "version": 1,
            })
        ids = insert_rows(self.session, WorkOrder, orders)
        for r, wo_id in zip(done, ids, strict=True):
            r["work_order_id"] = wo_id
        add_rows(self.session, WorkOrderSkill, [
            {"work_order_id": i, "skill_id": campaign.skill_id, "min_level": 1} for i in ids])
        add_rows(self.session, WorkOrderPart, [
            {"work_order_id": i, "part_id": p.part_id, "quantity": p.quantity,
             "reserved": 0, "issued": p.quantity} for i in ids for p in campaign.parts])
        add_rows(self.session, WorkOrderTransition, [
            {"work_order_id": i, "from_status": WorkOrderStatus.NEW.value,
             "to_status": WorkOrderStatus.COMPLETED.value, "actor_id": None,
             "actor_name": self.actor.name, "at": r["completed_at"],
             "reason": f"Recall remedy done at dealership {dealers[r['dealership_id']].code}"}
            for i, r in zip(ids, done, strict=True)])
        self.count("recall_work_orders", len(ids))

    def _interaction(self, customer_id, channel, direction, number, subject, at,
                     ticket_id=None, work_order_id=None) -> dict[str, Any]:
        # The contact center's default week (Friday off), as the API judges a logged call.
        opening = next_opening(at, parse_hours(WORKING_HOURS), TZ)
        outside = opening is not None
        callback_due = callback_done = None
        if opening is not None and direction is Direction.INBOUND:
            callback_due = opening.astimezone(UTC)
            if opening.date() < self.today:
                callback_done = callback_due + timedelta(minutes=45)
        return {"customer_id": customer_id, "channel": channel, "direction": direction,
                "calling_number": number, "subject": subject,
                "notes": "Logged by the demo data generator.",
                "agent_id": self.user_ids["agent"], "ticket_id": ticket_id,
                "work_order_id": work_order_id, "occurred_at": at, "outside_hours": outside,
                "callback_due_at": callback_due, "callback_done_at": callback_done}

    # ---- open work orders ------------------------------------------------------------

    def _witness_requirements(self, territory: str, model: D.ProductModel,
                              wo_type: WorkOrderType) -> dict[str, int]:
        """Skills and levels that at least one technician of the territory has."""
        wanted = (["car-electrical"] if wo_type is WorkOrderType.RECALL
                  else list(model.skills))
        able = [(tech, skills) for tech, skills in zip(self.techs, self.tech_skills, strict=True)
                if tech["territory"] == territory and any(s in skills for s in wanted)]
        _, skills = self.rng.choice(able)
        mine = [s for s in wanted if s in skills]
        main = mine[0]
        need = {main: self.rng.randint(1, min(skills[main], 4))}
        extra = [s for s in mine[1:]]
        if extra and self.rng.random() < 0.25:
            second = self.rng.choice(extra)
            need[second] = self.rng.randint(1, min(skills[second], 3))
        return need

    def work_orders(self) -> None:
        by_territory = defaultdict(list)
        for a in self.asset_meta:
            by_territory[a["site"]["territory"]].append(a)
        techs_per_city = {c.key: c.technicians for c in D.CITIES}
        types = list(WORK_ORDER_TYPES)
        self.rng.shuffle(types)
        nwd = self.summary.next_working_day
        later_days = [nwd]
        while len(later_days) < 5:
            later_days.append(self.working_day_after(later_days[-1]))
        recall_pool = list(self.recall_assets)
        self.rng.shuffle(recall_pool)
        durations = {WorkOrderType.BREAKDOWN: (45, 150), WorkOrderType.PREVENTIVE: (60, 120),
                     WorkOrderType.INSTALLATION: (90, 180), WorkOrderType.RECALL: (60, 60),
                     WorkOrderType.INSPECTION: (30, 90)}
        priorities = {WorkOrderType.BREAKDOWN: (1, 2, 3), WorkOrderType.PREVENTIVE: (3, 4),
                      WorkOrderType.INSTALLATION: (2, 3), WorkOrderType.RECALL: (2, 3),
                      WorkOrderType.INSPECTION: (3, 4)}
        orders, details, breakdown_tickets = [], [], []
        for n, wo_type in enumerate(types):
            if wo_type is WorkOrderType.RECALL and recall_pool:
                asset = recall_pool.pop()
                self.recall_in_field.add(asset["id"])
            else:
                if wo_type is WorkOrderType.RECALL:
                    wo_type = WorkOrderType.INSPECTION
                territory = self.rng.choices(list(techs_per_city),
                                             weights=list(techs_per_city.values()))[0]
                asset = self.rng.choice(by_territory[territory])
            model, site = asset["model"], asset["site"]
            summary = self.rng.choice(D.WORK_SUMMARIES[wo_type.value][model.kind])
            priority = self.rng.choice(priorities[wo_type])
            lo, hi = durations[wo_type]
            minutes = 15 * self.rng.randint(lo // 15, hi // 15)
            opened = local(self.today, time(9)) - timedelta(minutes=self.rng.randint(0, 72 * 60))
            contract = self.contract_of_asset.get(asset["id"])
            due = due_times(opened, priority, contract)
            status = WorkOrderStatus.NEW
            if n >= NEXT_DAY_WORK_ORDERS and n < NEXT_DAY_WORK_ORDERS + ON_HOLD_WORK_ORDERS:
                status = WorkOrderStatus.ON_HOLD
            orders.append({
                "type": wo_type, "status": status, "priority": priority,
                "summary": f"{summary} ({model.name})"[:200],
                "description": (f"{wo_type.value.title()} at {site['name']}, "
                                f"{site['address']}."),
                "customer_id": asset["customer"]["id"], "site_id": site["id"],
                "asset_id": asset["id"], "ticket_id": None,
                "contract_id": due.contract_id, "estimated_minutes": minutes,
                "response_due_at": due.response_due_at,
                "resolution_due_at": due.resolution_due_at, "pinned": False,
                "hold_reason": ("Waiting for the customer to confirm access"
                                if status is WorkOrderStatus.ON_HOLD else None),
                "checklist": None, "created_at": opened, "updated_at": opened, "version": 1,
            })
            details.append((n, asset, model, wo_type, status, opened))
            if wo_type is WorkOrderType.BREAKDOWN:
                breakdown_tickets.append(n)

        # Breakdowns come from a customer's call: one open ticket each, linked.
        ticket_rows = []
        for n in breakdown_tickets:
            order, asset = orders[n], details[n][1]
            meta = asset["customer"]
            ticket_rows.append({
                "customer_id": meta["id"], "channel": TicketChannel.PHONE,
                "category": (TicketCategory.ROADSIDE if asset["model"].kind == "car"
                             else TicketCategory.REQUEST),
                "topic": "breakdown", "product_id": self.product_ids[asset["model"].code],
                "asset_id": asset["id"], "region": meta["city"].region,
                "subject": order["summary"], "description": None,
                "priority": order["priority"], "status": TicketStatus.IN_PROGRESS,
                "calling_number": meta["mobile"], "assigned_user_id": self.user_ids["agent"],
                "closed_at": None, "created_at": order["created_at"],
                "updated_at": order["created_at"],
            })
        ticket_ids = insert_rows(self.session, Ticket, ticket_rows)
        for n, tid in zip(breakdown_tickets, ticket_ids, strict=True):
            orders[n]["ticket_id"] = tid
        wo_ids = insert_rows(self.session, WorkOrder, orders)

        skills, parts, windows, transitions, calls = [], [], [], [], []
        for wo_id, (n, asset, model, wo_type, status, opened) in zip(wo_ids, details,
                                                                      strict=True):
            need = self._witness_requirements(asset["site"]["territory"], model, wo_type)
            skills += [{"work_order_id": wo_id, "skill_id": self.skill_ids[c], "min_level": lvl}
                       for c, lvl in need.items()]
            if wo_type is WorkOrderType.RECALL and model.code == D.RECALL_PRODUCT:
                parts.append({"work_order_id": wo_id, "part_id": self.part_ids[D.RECALL_PART],
                              "quantity": 1, "reserved": 0, "issued": 0})
            elif (wo_type in (WorkOrderType.BREAKDOWN, WorkOrderType.PREVENTIVE)
                  and self.rng.random() < 0.3):
                for sku in self.rng.sample(self.parts_by_kind[model.kind],
                                           k=self.rng.randint(1, 2)):
                    parts.append({"work_order_id": wo_id, "part_id": self.part_ids[sku],
                                  "quantity": 1, "reserved": 0, "issued": 0})
            windows += self._windows(wo_id, n, later_days, status)
            transitions.append({"work_order_id": wo_id, "from_status": None,
                                "to_status": WorkOrderStatus.NEW.value, "actor_id": None,
                                "actor_name": self.actor.name, "at": opened, "reason": None})
            if status is WorkOrderStatus.ON_HOLD:
                transitions.append({"work_order_id": wo_id, "from_status": "new",
                                    "to_status": "on_hold", "actor_id": None,
                                    "actor_name": self.actor.name,
                                    "at": opened + timedelta(minutes=30),
                                    "reason": "Waiting for the customer to confirm access"})
        for n, tid in zip(breakdown_tickets, ticket_ids, strict=True):
            meta = details[n][1]["customer"]
            calls.append(self._interaction(
                meta["id"], InteractionChannel.CALL, Direction.INBOUND, meta["mobile"],
                orders[n]["summary"], orders[n]["created_at"], ticket_id=tid,
                work_order_id=wo_ids[n]))
        add_rows(self.session, WorkOrderSkill, skills)
        add_rows(self.session, WorkOrderPart, parts)
        add_rows(self.session, WorkOrderWindow, windows)
        add_rows(self.session, WorkOrderTransition, transitions)
        add_rows(self.session, Interaction, calls)
        self.count("work_orders", len(wo_ids))
        self.count("tickets", len(ticket_ids))
        self.count("interactions", len(calls))

    def _windows(self, wo_id: int, n: int, days: list[date],
                 status: WorkOrderStatus) -> list[dict[str, Any]]:
        """Customer windows: the first 200 on the next working day, then later or none."""
        if status is WorkOrderStatus.ON_HOLD:
            return []
        if n < NEXT_DAY_WORK_ORDERS:
            day = days[0]
        elif self.rng.random() < 0.7:
            day = self.rng.choice(days[1:])
        else:
            return []
        end = self.shift_end(day)
        if end == HALF_DAY_END:
            options = [(time(8), time(12))]
        else:
            options = [(time(8), time(12)), (time(12), time(16)), (time(8), time(16))]
        start, stop = self.rng.choice(options)
        return [{"work_order_id": wo_id, "starts_at": local(day, start),
                 "ends_at": local(day, stop)}]


def _seconds(origin: datetime, moment: datetime) -> int:
    return int((moment - origin).total_seconds())


def _days(first: date, end: date) -> list[date]:
    """The days from `first` up to, not including, `end`."""
    return [first + timedelta(days=i) for i in range((end - first).days)]


def seed_demo(session: Session, actor: Actor, *, seed: int = DEFAULT_SEED,
              today: date | None = None) -> Summary:
    """Seed the demo data set into an empty database; flushes, never commits."""
    today = today or datetime.now(TZ).date()
    return DemoGenerator(session, actor, seed=seed, today=today).run()
