"""The agent's work-order form: its choices, and its fields turned into the API's payload.

The form asks in the words of the phone call (a day, from-to times read in the site's
zone, "hvac:3, printer:2", a part and how many); `payload` turns that into exactly what
POST /api/v1/work-orders takes (skills with levels, parts with quantities, time windows as
aware moments), and the API's schema and service check it. Errors of either come back
keyed by the form's own fields so each one shows next to what the agent typed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from fieldsvc.console.forms import PART_ROWS, TicketWorkOrderForm
from fieldsvc.console.i18n import gettext as _
from fieldsvc.dates import zone, zone_of
from fieldsvc.extensions import db
from fieldsvc.models import Asset, Part, Site, Skill
from fieldsvc.models.enums import SkillLevel
from fieldsvc.problems import field_messages
from fieldsvc.services.catalog import products_skills

WINDOWS = (("window1_from", "window1_to"), ("window2_from", "window2_to"))


def skills_text(skills: list[tuple[str, int]]) -> str:
    """[("hvac", 3), ("printer", 1)] → "hvac:3, printer:1" (what the skills field shows)."""
    return ", ".join(f"{code}:{level}" for code, level in skills)


def fill_choices(form: TicketWorkOrderForm, sites: list[Site], assets: list[Asset]) -> None:
    """Sites and assets of the customer, the parts catalogue; each asset option carries
    the skills its product needs, so choosing it can fill the skills field."""
    form.site_id.choices = [(str(s.id), s.name) for s in sites]
    form.asset_id.choices = [("", "—")] + [
        (str(a.id), f"{a.serial_number or a.vin or '#' + str(a.id)} · {a.product.name}")
        for a in assets
    ]
    parts = list(db.session.scalars(select(Part).order_by(Part.name).limit(1000)))
    for row in range(1, PART_ROWS + 1):
        getattr(form, f"part_{row}").choices = [("", "—")] + [
            (str(p.id), f"{p.name} ({p.sku})") for p in parts
        ]


def asset_skills(assets: list[Asset]) -> dict[int, str]:
    """Each asset's product skills as the skills field writes them."""
    by_product = products_skills(db.session, [a.product_id for a in assets])
    return {a.id: skills_text(by_product[a.product_id]) for a in assets}


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 18 and int(raw) > 0 else None


def _skills(text: str, errors: dict[str, list[str]]) -> list[dict[str, int]]:
    """ "hvac:3, printer" → [{skill_id, min_level}]; unknown codes and bad levels are errors."""
    wanted: list[tuple[str, str]] = []
    for item in text.replace(";", ",").split(","):
        item = item.strip()
        if item:
            code, _sep, level = item.partition(":")
            wanted.append((code.strip(), level.strip() or "1"))
    if not wanted:
        return []
    codes = {code for code, _level in wanted}
    known = dict(
        db.session.execute(select(Skill.code, Skill.id).where(Skill.code.in_(codes))).all()
    )
    out: list[dict[str, int]] = []
    messages: list[str] = []
    for code, level in wanted:
        if code not in known:
            messages.append(_("Unknown skill '%(code)s'.", code=code))
        elif not level.isdigit() or not SkillLevel.MIN <= int(level) <= SkillLevel.MAX:
            messages.append(
                _(
                    "The level of '%(code)s' must be a whole number from %(low)s to %(high)s.",
                    code=code,
                    low=SkillLevel.MIN,
                    high=SkillLevel.MAX,
                )
            )
        elif any(s["skill_id"] == known[code] for s in out):
            messages.append(_("Skill '%(code)s' is listed twice.", code=code))
        else:
            out.append({"skill_id": known[code], "min_level": int(level)})
    if messages:
        errors["skills"] = messages
    return out


def _windows(
    form: TicketWorkOrderForm, zone_name: str, errors: dict[str, list[str]]
) -> tuple[list[dict[str, str]], list[int]]:
    """The day and its windows as aware moments in the site's zone; a day alone is the
    whole day. Returns the windows and, for each, the form row it came from."""
    day: date | None = form.day.data
    windows: list[dict[str, str]] = []
    rows: list[int] = []
    tz = zone(zone_name)
    for row, (start_name, end_name) in enumerate(WINDOWS):
        start: time | None = getattr(form, start_name).data
        end: time | None = getattr(form, end_name).data
        if start is None and end is None:
            continue
        if start is None or end is None:
            missing = start_name if start is None else end_name
            errors[missing] = ["Give both the start and the end of the window."]
            continue
        if day is None:
            errors["day"] = ["Choose the day of the window."]
            continue
        if end <= start:
            errors[end_name] = ["The window must end after it starts."]
            continue
        windows.append(
            {
                "starts_at": datetime.combine(day, start, tzinfo=tz).isoformat(),
                "ends_at": datetime.combine(day, end, tzinfo=tz).isoformat(),
            }
        )
        rows.append(row)
    if day is not None and not windows and not errors:
        windows.append(
            {
                "starts_at": datetime.combine(day, time(0), tzinfo=tz).isoformat(),
                "ends_at": datetime.combine(
                    day + timedelta(days=1), time(0), tzinfo=tz
                ).isoformat(),
            }
        )
        rows.append(0)
    return windows, rows


def _parts(
    form: TicketWorkOrderForm, errors: dict[str, list[str]]
) -> tuple[list[dict[str, int]], list[int]]:
    parts: list[dict[str, int]] = []
    rows: list[int] = []
    for row in range(1, PART_ROWS + 1):
        part_field, quantity_field = f"part_{row}", f"quantity_{row}"
        part = getattr(form, part_field).data or ""
        quantity = getattr(form, quantity_field).data
        if not part and quantity is None:
            continue
        if not part:
            errors[part_field] = ["Choose the part."]
        elif _int(part) is None:
            errors[part_field] = ["Choose a part of the catalogue."]
        if quantity is None:
            errors[quantity_field] = ["Give the quantity."]
        elif quantity < 1:
            errors[quantity_field] = ["The quantity must be at least 1."]
        if part_field not in errors and quantity_field not in errors:
            parts.append({"part_id": int(part), "quantity": quantity})
            rows.append(row)
    return parts, rows


def payload(form: TicketWorkOrderForm, sites: list[Site]) -> tuple[dict[str, Any], dict]:
    """The API payload of a validated form, and how to put the API's errors back on the
    form's fields; raises ValidationError keyed by form fields on what the form itself
    can tell is wrong (nothing is saved then)."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {"type": form.type.data, "priority": int(form.priority.data or 3)}
    site = None
    if form.site_id.data:
        site_id = _int(form.site_id.data)
        site = next((s for s in sites if s.id == site_id), None)
        if site is None:
            errors["site_id"] = ["Choose one of the customer's sites."]
        else:
            data["site_id"] = site.id
    if form.asset_id.data:
        asset_id = _int(form.asset_id.data)
        if asset_id is None:
            errors["asset_id"] = ["Choose one of the customer's assets."]
        else:
            data["asset_id"] = asset_id
    if form.estimated_minutes.data:
        data["estimated_minutes"] = form.estimated_minutes.data
    zone_name = zone_of(site.timezone if site else None)
    data["time_windows"], window_rows = _windows(form, zone_name, errors)
    data["skills"] = _skills(form.skills.data or "", errors)
    data["parts"], part_rows = _parts(form, errors)
    if errors:
        raise ValidationError(errors)
    return data, {"windows": window_rows, "parts": part_rows}


def form_errors(exc: Exception, rows: dict) -> Exception:
    """The API schema's or service's errors, re-keyed to the form's fields: a window's to
    its from/to inputs, a part's to its part/quantity inputs."""
    if isinstance(exc, ValidationError):
        raw = field_messages(exc)
    else:
        raw = dict(getattr(exc, "extensions", {}).get("errors") or {})
        if not raw:
            return exc
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("time_windows", "parts") and isinstance(value, dict):
            for index, inner in value.items():
                found = rows["windows" if key == "time_windows" else "parts"]
                row = (
                    found[int(index)] if str(index).isdigit() and int(index) < len(found) else None
                )
                for name, messages in inner.items() if isinstance(inner, dict) else [("", inner)]:
                    if row is None:
                        target = key
                    elif key == "time_windows":
                        target = WINDOWS[row][1 if name == "ends_at" else 0]
                    else:
                        target = f"part_{row}" if name == "part_id" else f"quantity_{row}"
                    out.setdefault(target, []).extend(
                        messages if isinstance(messages, list) else [messages]
                    )
        elif key == "skills" and isinstance(value, dict):
            out["skills"] = [
                m
                for v in value.values()
                for ms in (v.values() if isinstance(v, dict) else [v])
                for m in (ms if isinstance(ms, list) else [ms])
            ]
        else:
            out[key] = value
    return ValidationError(out)
