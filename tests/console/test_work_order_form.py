"""The agent's work-order form: a day and windows in the site's zone, the skills of the
asset's product (pre-filled, editable), parts from the catalogue; bad input is refused
next to its field and nothing is saved."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from fieldsvc.models import WorkOrder, WorkOrderSkill

DAY = date.today() + timedelta(days=3)


def _setup(data):
    hvac = data.skill("hvac")
    data.skill("electrical")
    chiller = data.product(name="Chiller X1", kind="other")
    # A job done earlier on another unit of the same product says what it needs.
    other = data.customer(name="Earlier customer")
    earlier_site = data.site(other)
    earlier_asset = data.asset(other, product=chiller, site=earlier_site)
    earlier = data.work_order(earlier_site, asset_id=earlier_asset.id)
    data.work_order_skill(earlier, hvac, 3)
    customer = data.customer(name="Caller")
    site = data.site(customer, name="Plant room", timezone="Asia/Tehran")
    asset = data.asset(customer, product=chiller, site=site, serial_number="CH-0001")
    ticket = data.ticket(customer, subject="Chiller stopped", asset_id=asset.id)
    part = data.part(name="Compressor relay")
    return ticket, site, asset, part, hvac


def _form(agent, site, asset, **extra):
    form = {
        "csrf_token": agent.csrf,
        "type": "breakdown",
        "site_id": str(site.id),
        "asset_id": str(asset.id),
        "priority": "1",
        "estimated_minutes": "90",
        "day": DAY.isoformat(),
        "window1_from": "09:00",
        "window1_to": "12:00",
        "skills": "hvac:3",
    }
    form.update(extra)
    return form


def _count(db_session) -> int:
    return db_session(lambda s: s.scalar(select(func.count(WorkOrder.id))))


def test_skills_are_prefilled_from_the_assets_product(data, page_as):
    ticket, site, asset, part, hvac = _setup(data)
    agent = page_as("agent")
    page = agent.get(f"/console/tickets/{ticket.id}").data.decode()
    assert 'id="skills"' in page and 'value="hvac:3"' in page
    assert "Compressor relay" in page and 'id="window1_from"' in page


def test_skills_the_product_declares_are_prefilled_before_any_guess(data, page_as):
    hvac, refrigerant = data.skill("hvac"), data.skill("refrigerant")
    chiller = data.product(name="Chiller X1", kind="other")
    boiler = data.product(name="Boiler B2", kind="other")
    # An earlier job on a chiller named another skill: the product's own list wins.
    other = data.customer(name="Earlier customer")
    earlier_site = data.site(other)
    earlier = data.work_order(earlier_site, asset_id=data.asset(
        other, product=chiller, site=earlier_site).id)
    data.work_order_skill(earlier, refrigerant, 1)
    data.product_skill(chiller, refrigerant, 4)
    data.product_skill(chiller, hvac, 2)
    # The boiler is new to the catalogue, with no job done on it yet.
    data.product_skill(boiler, hvac, 1)
    customer = data.customer(name="Caller")
    site = data.site(customer, name="Plant room", timezone="Asia/Tehran")
    chiller_unit = data.asset(customer, product=chiller, site=site, serial_number="CH-0001")
    boiler_unit = data.asset(customer, product=boiler, site=site, serial_number="BO-0001")
    ticket = data.ticket(customer, subject="Chiller stopped", asset_id=chiller_unit.id)
    page = page_as("agent").get(f"/console/tickets/{ticket.id}").data.decode()
    assert 'value="hvac:2, refrigerant:4"' in page
    # The choices carry each asset's product skills, to fill the field when one is chosen.
    by_asset = page.split('data-skills-by-asset="', 1)[1].split('"', 1)[0]
    assert f"&#34;{boiler_unit.id}&#34;: &#34;hvac:1&#34;" in by_asset


def test_work_order_with_windows_skills_and_parts_is_saved_as_the_api_stores_it(
    data, page_as, db_session
):
    ticket, site, asset, part, hvac = _setup(data)
    agent = page_as("agent")
    before = _count(db_session)
    response = agent.post(
        f"/console/tickets/{ticket.id}/work-orders",
        data=_form(
            agent,
            site,
            asset,
            window2_from="14:00",
            window2_to="16:30",
            skills="hvac:4",
            part_1=str(part.id),
            quantity_1="2",
        ),
    )
    assert response.status_code == 302
    assert _count(db_session) == before + 1
    job = db_session(
        lambda s: s.scalar(
            select(WorkOrder)
            .where(WorkOrder.ticket_id == ticket.id)
            .options(
                selectinload(WorkOrder.skills),
                selectinload(WorkOrder.parts),
                selectinload(WorkOrder.time_windows),
            )
        )
    )
    tehran = ZoneInfo("Asia/Tehran")
    windows = [
        (w.starts_at.astimezone(tehran), w.ends_at.astimezone(tehran)) for w in job.time_windows
    ]
    assert windows == [
        (datetime.combine(DAY, time(9), tehran), datetime.combine(DAY, time(12), tehran)),
        (datetime.combine(DAY, time(14), tehran), datetime.combine(DAY, time(16, 30), tehran)),
    ]
    assert [(s.skill_id, s.min_level) for s in job.skills] == [(hvac.id, 4)]
    assert [(p.part_id, p.quantity) for p in job.parts] == [(part.id, 2)]
    assert (job.priority, job.asset_id, job.estimated_minutes) == (1, asset.id, 90)


def test_a_window_ending_before_it_starts_is_refused_and_nothing_saved(data, page_as, db_session):
    ticket, site, asset, part, hvac = _setup(data)
    agent = page_as("agent")
    before = _count(db_session)
    bad = agent.post(
        f"/console/tickets/{ticket.id}/work-orders",
        data=_form(agent, site, asset, window1_from="15:00", window1_to="11:00"),
    )
    assert bad.status_code == 422
    assert b'id="window1_to-error"' in bad.data
    assert b"The window must end after it starts." in bad.data
    half = agent.post(
        f"/console/tickets/{ticket.id}/work-orders",
        data=_form(agent, site, asset, window2_from="13:00"),
    )
    assert half.status_code == 422 and b'id="window2_to-error"' in half.data
    overlap = agent.post(
        f"/console/tickets/{ticket.id}/work-orders",
        data=_form(agent, site, asset, window2_from="11:00", window2_to="13:00"),
    )
    assert overlap.status_code == 422 and b"Overlaps another window." in overlap.data
    no_day = agent.post(
        f"/console/tickets/{ticket.id}/work-orders", data=_form(agent, site, asset, day="")
    )
    assert no_day.status_code == 422 and b'id="day-error"' in no_day.data
    assert _count(db_session) == before


def test_an_unknown_skill_is_refused_and_nothing_saved(data, page_as, db_session):
    ticket, site, asset, part, hvac = _setup(data)
    agent = page_as("agent")
    before = _count(db_session)
    bad = agent.post(
        f"/console/tickets/{ticket.id}/work-orders",
        data=_form(agent, site, asset, skills="hvac:3, plumbing:2"),
    )
    assert bad.status_code == 422 and b'id="skills-error"' in bad.data
    assert b"Unknown skill &#39;plumbing&#39;." in bad.data
    level = agent.post(
        f"/console/tickets/{ticket.id}/work-orders", data=_form(agent, site, asset, skills="hvac:9")
    )
    assert level.status_code == 422 and b'id="skills-error"' in level.data
    assert _count(db_session) == before


def test_a_part_quantity_of_zero_or_less_is_refused_and_nothing_saved(data, page_as, db_session):
    ticket, site, asset, part, hvac = _setup(data)
    agent = page_as("agent")
    before = _count(db_session)
    for quantity in ("0", "-2"):
        bad = agent.post(
            f"/console/tickets/{ticket.id}/work-orders",
            data=_form(agent, site, asset, part_1=str(part.id), quantity_1=quantity),
        )
        assert bad.status_code == 422 and b'id="quantity_1-error"' in bad.data
        assert b"The quantity must be at least 1." in bad.data
    missing = agent.post(
        f"/console/tickets/{ticket.id}/work-orders",
        data=_form(agent, site, asset, part_2=str(part.id)),
    )
    assert missing.status_code == 422 and b'id="quantity_2-error"' in missing.data
    unknown = agent.post(
        f"/console/tickets/{ticket.id}/work-orders",
        data=_form(agent, site, asset, part_1="999999", quantity_1="1"),
    )
    assert unknown.status_code == 422 and b'id="part_1-error"' in unknown.data
    assert _count(db_session) == before
    assert db_session(lambda s: s.scalar(select(func.count(WorkOrderSkill.id)))) == 1


def test_errors_read_in_persian_for_a_persian_agent(data, page_as, db_session):
    ticket, site, asset, part, hvac = _setup(data)
    agent = page_as("agent")
    agent.get("/console?lang=fa")
    before = _count(db_session)
    bad = agent.post(
        f"/console/tickets/{ticket.id}/work-orders",
        data=_form(
            agent,
            site,
            asset,
            window1_from="15:00",
            window1_to="11:00",
            skills="plumbing:2",
            part_1=str(part.id),
            quantity_1="0",
        ),
    )
    assert bad.status_code == 422
    text = bad.data.decode()
    for message in (
        "پایان بازه باید پس از آغاز آن باشد.",
        "مهارت «plumbing» شناخته نیست.",
        "تعداد باید دست‌کم ۱ باشد.",
    ):
        assert message in text
    assert _count(db_session) == before
