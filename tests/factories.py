"""Factories for test data: each call writes one committed row with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta

from sqlalchemy.orm import Session

from fieldsvc.models import (
    Asset,
    Customer,
    Part,
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
    Warehouse,
    WorkOrder,
    WorkOrderSkill,
)
from fieldsvc.models.enums import ProductKind, WarehouseKind, WorkOrderType
from fieldsvc.recall.models import Dealership
from fieldsvc.services.phones import phone_key

_seq = itertools.count(1)


class Factories:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _save(self, obj):
        self.session.add(obj)
        self.session.commit()
        return obj

    def customer(self, **kw) -> Customer:
        n = next(_seq)
        kw.setdefault("name", f"Customer {n}")
        kw.setdefault("phone", f"+98 21 5555 {n:04d}")
        obj = Customer(**kw)
        obj.phone_key = phone_key(obj.phone)
        obj.mobile_key = phone_key(obj.mobile)
        return self._save(obj)

    def site(self, customer: Customer | None = None, **kw) -> Site:
        customer = customer or self.customer()
        kw.setdefault("name", f"Site {next(_seq)}")
        kw.setdefault("latitude", 35.7)
        kw.setdefault("longitude", 51.4)
        kw.setdefault("territory", "tehran")
        return self._save(Site(customer_id=customer.id, **kw))

    def product(self, **kw) -> Product:
        n = next(_seq)
        kw.setdefault("code", f"P-{n}")
        kw.setdefault("name", f"Product {n}")
        kw.setdefault("kind", ProductKind.PRINTER)
        return self._save(Product(**kw))

    def product_skill(self, product: Product, skill: Skill, level: int = 1) -> ProductSkill:
        return self._save(ProductSkill(product_id=product.id, skill_id=skill.id,
                                       min_level=level))

    def asset(self, customer: Customer | None = None, product: Product | None = None,
              site: Site | None = None, **kw) -> Asset:
        customer = customer or (site.customer if site else self.customer())
        product = product or self.product()
        if "vin" not in kw:
            kw.setdefault("serial_number", f"SN{next(_seq):08d}")
        return self._save(Asset(customer_id=customer.id, product_id=product.id,
                                site_id=site.id if site else None, **kw))

    def contract(self, customer: Customer, targets: dict[int, tuple[int, int]] | None = None,
                 **kw) -> ServiceContract:
        kw.setdefault("number", f"C-{next(_seq)}")
        kw.setdefault("name", "Gold care")
        kw.setdefault("starts_on", date.today() - timedelta(days=30))
        kw.setdefault("ends_on", date.today() + timedelta(days=335))
        contract = ServiceContract(customer_id=customer.id, **kw)
        for priority, (response, resolution) in (targets or {1: (240, 480)}).items():
            contract.targets.append(SlaTarget(priority=priority, response_minutes=response,
                                              resolution_minutes=resolution))
        return self._save(contract)

    def skill(self, code: str | None = None, **kw) -> Skill:
        code = code or f"skill-{next(_seq)}"
        kw.setdefault("name", code.title())
        return self._save(Skill(code=code, **kw))

    def warehouse(self, **kw) -> Warehouse:
        n = next(_seq)
        kw.setdefault("code", f"WH-{n}")
        kw.setdefault("name", f"Warehouse {n}")
        kw.setdefault("kind", WarehouseKind.CENTRAL)
        return self._save(Warehouse(**kw))

    def technician(self, skills: dict[Skill, int] | None = None, van: bool = True,
                   **kw) -> Technician:
        n = next(_seq)
        kw.setdefault("code", f"T-{n}")
        kw.setdefault("name", f"Technician {n}")
        kw.setdefault("home_latitude", 35.70)
        kw.setdefault("home_longitude", 51.40)
        kw.setdefault("territory", "tehran")
        if van:
            kw.setdefault("van_warehouse_id",
                          self.warehouse(kind=WarehouseKind.VAN, name=f"Van {n}").id)
        tech = Technician(**kw)
        for skill, level in (skills or {}).items():
            tech.skills.append(TechnicianSkill(skill_id=skill.id, level=level))
        for weekday in range(7):
            tech.shifts.append(Shift(weekday=weekday, start_time=time(8), end_time=time(17)))
        return self._save(tech)

    def part(self, **kw) -> Part:
        n = next(_seq)
        kw.setdefault("sku", f"PART-{n}")
        kw.setdefault("name", f"Part {n}")
        return self._save(Part(**kw))

    def ticket(self, customer: Customer | None = None, **kw) -> Ticket:
        customer = customer or self.customer()
        kw.setdefault("channel", "phone")
        kw.setdefault("category", "request")
        kw.setdefault("subject", "Printer jams")
        return self._save(Ticket(customer_id=customer.id, **kw))

    def work_order(self, site: Site | None = None, **kw) -> WorkOrder:
        site = site or self.site()
        kw.setdefault("type", WorkOrderType.BREAKDOWN)
        kw.setdefault("summary", "Repair")
        return self._save(WorkOrder(customer_id=site.customer_id, site_id=site.id, **kw))

    def work_order_skill(self, work_order: WorkOrder, skill: Skill, level: int = 1
                         ) -> WorkOrderSkill:
        return self._save(WorkOrderSkill(work_order_id=work_order.id, skill_id=skill.id,
                                         min_level=level))

    def dealership(self, **kw) -> Dealership:
        n = next(_seq)
        kw.setdefault("code", f"D-{n}")
        kw.setdefault("name", f"Dealer {n}")
        kw.setdefault("region", "Tehran")
        kw.setdefault("latitude", 35.7)
        kw.setdefault("longitude", 51.4)
        return self._save(Dealership(**kw))
