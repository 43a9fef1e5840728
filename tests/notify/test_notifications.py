"""Customer messages: what a real SMTP server and SMS gateway receive, in whose language,
when, and never for a change that rolled back or a customer who said no."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from fieldsvc.extensions import db
from fieldsvc.models.enums import RmaStatus, RmaType
from fieldsvc.notify.models import Notification
from fieldsvc.notify.service import send_due
from scheduler import jobs

URL = "/api/v1/recall-appointments"
TEHRAN = ZoneInfo("Asia/Tehran")


def _owner(recall, campaign, **customer):
    customer.setdefault("email", "owner@example.test")
    customer.setdefault("mobile", "+98 912 000 1234")
    return recall.owner(campaign, **customer)


def _book(client, campaign, dealer, day, vin):
    response = client.post(
        URL,
        json={
            "campaign_id": campaign.id,
            "vin": vin,
            "dealership_id": dealer.id,
            "day": day.isoformat(),
        },
    )
    assert response.status_code == 201, response.json
    return response.json


def _ics_fields(text: str) -> dict[str, str]:
    unfolded = text.replace("\r\n ", "")
    return dict(line.split(":", 1) for line in unfolded.splitlines() if ":" in line)


def _count(app, **where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Notification.id)).filter_by(**where))


def test_a_booking_reaches_the_owner_by_email_with_its_calendar_and_by_sms_in_persian(
    app, client, recall, channels, tomorrow
):
    mailbox, gateway = channels
    dealer = recall.dealership(places=2, timezone="Asia/Tehran", name="Iran Khodro Karaj")
    campaign = recall.campaign(code="RC-AIRBAG")
    asset = _owner(recall, campaign, language="fa", name="Sara Ahmadi")
    appointment = _book(client, campaign, dealer, tomorrow, asset.vin)

    assert jobs.notifications(app) is not None  # the scheduler's job, as it runs every 30 s

    (mail,) = mailbox.messages
    assert mail["Subject"] == "نوبت فراخوان ثبت شد"
    assert mail["To"] == "owner@example.test" and mail["Content-Language"] == "fa"
    body = mail.get_body(("plain",)).get_content()
    assert "Sara Ahmadi" in body and asset.vin in body and "Iran Khodro Karaj" in body
    # Persian readers get Persian digits in the date.
    assert tomorrow.isoformat().translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in body
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    ics = _ics_fields(attachment.get_content())
    start = datetime.combine(tomorrow, time(8, 0), TEHRAN).astimezone(UTC)
    assert ics["DTSTART"] == start.strftime("%Y%m%dT%H%M%SZ")
    assert ics["UID"] == f"recall-appointment-{appointment['id']}@fieldsvc"
    assert ics["STATUS"] == "CONFIRMED"

    # The message carries the owner's own self-service link, which opens their recall.
    link = body.strip().splitlines()[-1]
    assert link.startswith("http://localhost/self-service/")
    page = app.test_client().get(urlsplit(link).path)
    assert page.status_code == 200 and asset.vin in page.get_data(as_text=True)

    (sms,) = gateway.received
    assert sms["to"] == "+98 912 000 1234" and sms["from"] == "FIELDSVC"
    assert sms["auth"] == "Bearer sms-secret"
    assert "RC-AIRBAG" in sms["text"] and "گرامی" in sms["text"]

    # Both messages are on the customer's single screen, as outbound notifications.
    logged = client.get(
        "/api/v1/interactions",
        query_string={"customer_id": asset.customer_id, "channel": "notification"},
    ).json["items"]
    assert sorted(i["subject"] for i in logged) == [
        "EMAIL: نوبت فراخوان ثبت شد",
        "SMS: نوبت فراخوان ثبت شد",
    ]
    assert {i["direction"] for i in logged} == {"outbound"}

    # The next pass sends nothing again.
    jobs.notifications(app)
    assert len(mailbox.messages) == 1 and len(gateway.received) == 1


def test_moving_and_cancelling_tell_the_owner_in_english(app, client, recall, channels, tomorrow):
    mailbox, _ = channels
    dealer = recall.dealership(places=2)
    campaign = recall.campaign()
    asset = _owner(recall, campaign, language="en", mobile=None)
    appointment = _book(client, campaign, dealer, tomorrow, asset.vin)
    later = tomorrow + timedelta(days=1)
    moved = client.post(f"{URL}/{appointment['id']}/reschedule", json={"day": later.isoformat()})
    assert moved.status_code == 200, moved.json
    assert client.post(f"{URL}/{appointment['id']}/cancel", json={}).status_code == 200
    with app.app_context():
        send_due(db.session)

    subjects = [m["Subject"] for m in mailbox.messages]
    assert subjects == [
        "Recall appointment booked",
        "Recall appointment moved",
        "Recall appointment cancelled",
    ]
    moved_mail = mailbox.messages[1]
    assert later.isoformat() in moved_mail.get_body(("plain",)).get_content()
    assert _ics_fields(next(moved_mail.iter_attachments()).get_content())["DTSTART"].startswith(
        later.strftime("%Y%m%d")
    )
    assert list(mailbox.messages[2].iter_attachments()) == []  # nothing to put in a calendar


def test_a_refused_booking_sends_nothing(app, client, recall, channels, tomorrow):
    mailbox, gateway = channels
    dealer = recall.dealership(places=1)
    campaign = recall.campaign()
    first, second = _owner(recall, campaign), _owner(recall, campaign)
    _book(client, campaign, dealer, tomorrow, first.vin)
    full = client.post(
        URL,
        json={
            "campaign_id": campaign.id,
            "vin": second.vin,
            "dealership_id": dealer.id,
            "day": tomorrow.isoformat(),
        },
    )
    assert full.status_code == 409
    jobs.notifications(app)
    assert len(mailbox.messages) == 1 and len(gateway.received) == 1
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(Notification.id)).where(
                    Notification.customer_id == second.customer_id
                )
            )
            == 0
        )


def test_an_opted_out_or_erased_customer_gets_nothing(
    app, client, recall, channels, make, tomorrow
):
    mailbox, gateway = channels
    dealer = recall.dealership(places=3)
    campaign = recall.campaign()
    opted_out = _owner(recall, campaign, notifications_opt_out=True)
    _book(client, campaign, dealer, tomorrow, opted_out.vin)
    assert _count(app, customer_id=opted_out.customer_id) == 0

    # Queued while allowed, then the customer says no before it goes: it never goes.
    changed_mind = _owner(recall, campaign)
    _book(client, campaign, dealer, tomorrow, changed_mind.vin)
    patch = client.patch(
        f"/api/v1/customers/{changed_mind.customer_id}", json={"notifications_opt_out": True}
    )
    assert patch.status_code == 200, patch.json

    # Erased after queueing: the queued text is gone too.
    erased = _owner(recall, campaign)
    _book(client, campaign, dealer, tomorrow, erased.vin)
    erase = client.post(f"/api/v1/customers/{erased.customer_id}/erase")
    assert erase.status_code in (200, 204), erase.json

    jobs.notifications(app)
    assert mailbox.messages == [] and gateway.received == []
    with app.app_context():
        rows = db.session.execute(
            select(Notification.status, Notification.body).where(
                Notification.customer_id == erased.customer_id
            )
        ).all()
    assert rows and all(status == "cancelled" and body is None for status, body in rows)


def test_quiet_hours_hold_messages_until_morning_and_drop_a_late_en_route(app, make, channels):
    from fieldsvc.notify import domain
    from fieldsvc.notify.service import queue

    mailbox, gateway = channels
    app.config["NOTIFY_QUIET_HOURS"] = "21:00-08:00"
    customer = make.customer(email="night@example.test", mobile=None, phone=None, language="en")
    site = make.site(customer, timezone="Asia/Tehran")
    technician = make.technician(name="Reza Karimi")
    order = make.work_order(site, technician_id=technician.id)
    late = datetime(2026, 12, 7, 23, 0, tzinfo=TEHRAN)
    with app.app_context():
        order = db.session.merge(order)
        queue(
            db.session,
            db.session.merge(customer),
            "recall_invitation",
            {"vin": "X", "campaign": "RC", "title": "T", "dealership": "D"},
            dedupe_key="quiet-test",
            zone="Asia/Tehran",
            now=late,
        )
        assert domain.en_route(db.session, order, now=late)
        db.session.commit()
        assert send_due(db.session, now=late + timedelta(minutes=30))["sent"] == 0
        morning = datetime(2026, 12, 8, 8, 1, tzinfo=TEHRAN)
        assert send_due(db.session, now=morning)["sent"] == 1
    assert [m["Subject"] for m in mailbox.messages] == ["Your vehicle is part of a recall"]
    assert _count(app, kind="en_route", status="suppressed") == 1


def test_a_technician_en_route_tells_the_customer_the_arrival_window(app, make, channels):
    mailbox, gateway = channels
    customer = make.customer(email="wait@example.test", mobile="09120001111", language="en")
    site = make.site(customer, timezone="Asia/Tehran")
    technician = make.technician(name="Reza Karimi")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    order = make.work_order(site, technician_id=technician.id)
    from tests.conftest import authed_client

    dispatcher = authed_client(app, "dispatcher")
    for step in (
        {
            "to": "scheduled",
            "technician_id": technician.id,
            "scheduled_start_at": start.isoformat(),
            # Sent out within the hour whatever the time of day: an explicit override.
            "override_reason": "urgent call-out",
        },
        {"to": "dispatched"},
        {"to": "en_route"},
    ):
        response = dispatcher.post(f"/api/v1/work-orders/{order.id}/transitions", json=step)
        assert response.status_code == 200, response.json
    jobs.notifications(app)
    (mail,) = mailbox.messages
    body = mail.get_body(("plain",)).get_content()
    local = start.astimezone(TEHRAN)
    window = (
        (local - timedelta(minutes=30)).strftime("%H:%M"),
        (local + timedelta(minutes=30)).strftime("%H:%M"),
    )
    assert mail["Subject"] == "Your technician is on the way"
    assert "Reza is on the way" in body and f"between {window[0]} and {window[1]}" in body
    assert "Asia/Tehran" in body
    track = body.strip().splitlines()[-1]
    assert track.startswith("http://localhost/self-service/")
    assert app.test_client().get(urlsplit(track).path).status_code == 200
    (sms,) = gateway.received
    assert sms["to"] == "09120001111" and "Reza" in sms["text"]


def test_a_gateway_that_fails_is_retried_with_backoff_and_the_message_goes_once(
    app, make, channels
):
    from fieldsvc.notify.service import queue

    _, gateway = channels
    app.config["SMTP_HOST"] = ""  # SMS only
    gateway.failures_left = 2
    customer = make.customer(email=None, mobile="09121112222", language="fa")
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    with app.app_context():
        queue(
            db.session,
            db.session.merge(customer),
            "recall_invitation",
            {"vin": "V", "campaign": "RC", "title": "T", "dealership": "D"},
            dedupe_key="retry-test",
            now=now,
        )
        db.session.commit()
        assert send_due(db.session, now=now)["retry"] == 1
        assert send_due(db.session, now=now + timedelta(seconds=5))["retry"] == 0  # backing off
        assert send_due(db.session, now=now + timedelta(minutes=1))["retry"] == 1
        assert send_due(db.session, now=now + timedelta(minutes=5))["sent"] == 1
        note = db.session.scalar(select(Notification))
        assert (note.status, note.attempts, note.last_error) == ("sent", 3, None)
    assert len(gateway.received) == 1


def test_a_return_reminder_goes_once_before_the_deadline(app, make, channels):
    from rma.models import Rma

    mailbox, _ = channels
    customer = make.customer(email="rma@example.test", mobile=None, phone=None, language="en")
    make.site(customer, timezone="Asia/Tehran")
    today = datetime.now(TEHRAN).date()
    with app.app_context():
        for number, deadline in (
            ("RMA-SOON", today + timedelta(days=2)),
            ("RMA-LATER", today + timedelta(days=20)),
        ):
            db.session.add(
                Rma(
                    number=number,
                    type=RmaType.ADVANCE_EXCHANGE,
                    status=RmaStatus.REPLACEMENT_SHIPPED,
                    customer_id=customer.id,
                    entitlement="warranty",
                    entitlement_reason="test",
                    defective_serial="SN-42",
                    return_deadline=deadline,
                )
            )
        db.session.commit()
    for _ in range(2):  # the hourly job runs again: no second reminder
        assert jobs.rma_overdue(app) is not None
        jobs.notifications(app)
    (mail,) = mailbox.messages
    body = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "Please return the replaced unit"
    assert (
        "RMA-SOON" in body and "SN-42" in body and (today + timedelta(days=2)).isoformat() in body
    )


def test_bad_language_or_opt_out_values_are_refused(client, make):
    customer = make.customer()
    for bad in ({"language": "de"}, {"notifications_opt_out": "maybe"}):
        response = client.patch(f"/api/v1/customers/{customer.id}", json=bad)
        assert response.status_code == 422, response.json
    assert client.get(f"/api/v1/customers/{customer.id}").json["language"] is None


def test_a_job_without_a_request_builds_links_under_the_public_url(app, recall, channels, tomorrow):
    from fieldsvc.notify import domain
    from fieldsvc.recall.models import RecallAppointment

    mailbox, _ = channels
    app.config["PUBLIC_URL"] = "https://service.example.test/"
    dealer = recall.dealership(places=2)
    campaign = recall.campaign()
    asset = _owner(recall, campaign, language="en", mobile=None, phone=None)
    with app.app_context():  # as an allocation run by the scheduler or the CLI: no request
        appt = RecallAppointment(
            campaign_id=campaign.id,
            vin=asset.vin,
            asset_id=asset.id,
            customer_id=asset.customer_id,
            dealership_id=dealer.id,
            day=tomorrow,
            status="invited",
        )
        db.session.add(appt)
        db.session.flush()
        assert domain.invitation(db.session, appt)
        db.session.commit()
        send_due(db.session)
    (mail,) = mailbox.messages
    link = mail.get_body(("plain",)).get_content().strip().splitlines()[-1]
    assert link.startswith("https://service.example.test/self-service/")
    assert app.test_client().get(urlsplit(link).path).status_code == 200
