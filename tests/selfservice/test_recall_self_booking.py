"""An owner checks a VIN with the phone's last digits, books, moves, cancels, gets the .ics."""

from __future__ import annotations

from datetime import timedelta

from fieldsvc.extensions import db
from fieldsvc.models.enums import AppointmentStatus
from fieldsvc.recall.models import RecallAppointment
from tests.selfservice.conftest import Customer, form_fields, self_service_audit


def _owner(recall, make, phone="+98 912 345 6789", **dealer):
    dealership = recall.dealership(places=3, name="Azadi Auto", **dealer)
    campaign = recall.campaign(description="The inflator may rupture.")
    asset = recall.owner(campaign, phone=phone)
    return dealership, campaign, asset.vin


def test_vin_and_phone_digits_open_the_recall_page_and_book(app, make, recall, customer, tomorrow):
    dealership, campaign, vin = _owner(recall, make)
    home = customer.get("/self-service")
    answer = customer.post(
        "/self-service/recall",
        data={**form_fields(home.data), "vin": vin.lower(), "digits": "6789"},
    )
    assert answer.status_code == 303
    page_path = answer.headers["Location"]
    assert vin not in page_path  # the link holds a random id only
    page = customer.get(page_path)
    assert page.status_code == 200
    text = page.data.decode()
    assert campaign.code in text and "Azadi Auto" in text and tomorrow.isoformat() in text

    booked = customer.submit(
        page_path,
        page_path + "/book",
        campaign_id=str(campaign.id),
        dealership_id=str(dealership.id),
        day=tomorrow.isoformat(),
    )
    assert booked.status_code == 303
    assert recall.appointments(campaign.id) == [(vin, "booked", dealership.id, tomorrow)]
    assert recall.ledger(dealership.id, campaign.id, tomorrow) == (3, 1)
    page = customer.get(page_path)
    assert b'data-state="booked"' in page.data

    ics = customer.get(f"{page_path}/{campaign.id}.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert b"STATUS:CONFIRMED" in ics.data and tomorrow.strftime("%Y%m%d").encode() in ics.data

    later = tomorrow + timedelta(days=1)
    moved = customer.submit(
        page_path,
        page_path + "/reschedule",
        campaign_id=str(campaign.id),
        dealership_id=str(dealership.id),
        day=later.isoformat(),
    )
    assert moved.status_code == 303
    assert recall.ledger(dealership.id, campaign.id, tomorrow) == (3, 0)
    assert recall.ledger(dealership.id, campaign.id, later) == (3, 1)

    cancelled = customer.submit(page_path, page_path + "/cancel", campaign_id=str(campaign.id))
    assert cancelled.status_code == 303
    assert recall.appointments(campaign.id) == [(vin, "cancelled", dealership.id, later)]
    assert recall.ledger(dealership.id, campaign.id, later) == (3, 0)
    assert recall.ledger_matches_appointments() == []
    audit = self_service_audit(app)
    assert ("recall_appointment", "create", f"owner of VIN {vin}") in audit
    assert ("recall_appointment", "update", f"owner of VIN {vin}") in audit


def test_a_full_day_is_refused_and_nothing_changes(app, make, recall, customer, link_for, tomorrow):
    dealership = recall.dealership(places=1)
    campaign = recall.campaign()
    first, second = recall.owner(campaign).vin, recall.owner(campaign).vin
    for vin, expected in ((first, 303), (second, 409)):
        path = link_for(vin=vin)
        answer = customer.submit(
            path,
            path + "/book",
            campaign_id=str(campaign.id),
            dealership_id=str(dealership.id),
            day=tomorrow.isoformat(),
        )
        assert answer.status_code == expected
    assert b"That day has just been taken" in answer.data
    assert recall.ledger(dealership.id, campaign.id, tomorrow) == (1, 1)
    assert [a[1] for a in recall.appointments(campaign.id)] == ["booked"]


def test_an_invitation_link_shows_the_kept_place_and_accepting_it_keeps_it(
    app, make, recall, customer, link_for, tomorrow
):
    dealership = recall.dealership(places=1, name="Karaj Motors")
    campaign = recall.campaign()
    vin = recall.owner(campaign).vin
    other = recall.dealership(places=2, name="Vanak Cars")
    with app.app_context():
        from fieldsvc.recall import booking

        appointment = RecallAppointment(
            campaign_id=campaign.id, vin=vin, status=AppointmentStatus.INVITED
        )
        db.session.add(appointment)
        db.session.flush()
        appointment.dealership_id = dealership.id
        appointment.day = tomorrow
        appointment.pool_id = booking.take_place(db.session, dealership, campaign, tomorrow)
        db.session.commit()
        db.session.remove()
    path = link_for(vin=vin)
    page = customer.get(path)
    text = page.data.decode()
    assert 'data-state="invited"' in text and "Karaj Motors" in text and "Vanak Cars" in text
    # The kept place is the day's only place, and it is offered to this owner.
    booked = customer.submit(
        path,
        path + "/book",
        campaign_id=str(campaign.id),
        dealership_id=str(dealership.id),
        day=tomorrow.isoformat(),
    )
    assert booked.status_code == 303
    assert recall.appointments(campaign.id) == [(vin, "booked", dealership.id, tomorrow)]
    assert recall.ledger(dealership.id, campaign.id, tomorrow) == (1, 1)
    assert other.id  # the nearby dealership was only offered


def test_an_unaffected_car_says_so(app, make, recall, customer, link_for):
    recall.dealership()
    campaign = recall.campaign()
    cust = make.customer(phone="0912 000 1234")
    asset = make.asset(cust, vin="JTDKB20U000099999")
    assert campaign.id and asset.id
    home = customer.get("/self-service")
    answer = customer.post(
        "/self-service/recall", data={**form_fields(home.data), "vin": asset.vin, "digits": "1234"}
    )
    assert answer.status_code == 303
    page = customer.get(answer.headers["Location"])
    assert b'id="not-affected"' in page.data


def test_bad_form_values_are_422_and_change_nothing(
    app, make, recall, customer, link_for, tomorrow
):
    dealership = recall.dealership()
    campaign = recall.campaign()
    vin = recall.owner(campaign).vin
    path = link_for(vin=vin)
    for data in (
        {"campaign_id": "x", "dealership_id": str(dealership.id), "day": tomorrow.isoformat()},
        {"campaign_id": str(campaign.id), "dealership_id": str(dealership.id), "day": "tomorrow"},
        {
            "campaign_id": str(campaign.id),
            "dealership_id": str(dealership.id),
            "day": (tomorrow - timedelta(days=5)).isoformat(),
        },
    ):
        answer = customer.submit(path, path + "/book", **data)
        assert answer.status_code == 422, answer.data
        assert b'id="error"' in answer.data
    assert recall.appointments(campaign.id) == []


def test_persian_page_reads_right_to_left(app, make, recall, link_for):
    recall.dealership()
    campaign = recall.campaign()
    path = link_for(vin=recall.owner(campaign).vin)
    phone = Customer(app)
    page = phone.get(path + "?lang=fa")
    text = page.data.decode()
    assert 'dir="rtl"' in text and 'lang="fa"' in text and "فراخوان" in text


def test_only_days_with_a_free_place_are_offered(app, make, recall, customer, link_for, tomorrow):
    from fieldsvc.recall.models import DealershipHoliday

    dealership = recall.dealership(places=1, name="Azadi Auto")
    campaign = recall.campaign()
    first, second = recall.owner(campaign).vin, recall.owner(campaign).vin
    path = link_for(vin=first)
    assert (
        customer.submit(
            path,
            path + "/book",
            campaign_id=str(campaign.id),
            dealership_id=str(dealership.id),
            day=tomorrow.isoformat(),
        ).status_code
        == 303
    )
    holiday = tomorrow + timedelta(days=1)
    make.session.add(DealershipHoliday(dealership_id=dealership.id, day=holiday))
    make.session.commit()
    page = customer.get(link_for(vin=second)).data.decode()
    offered = [v.split('"', 1)[0] for v in page.split('<option value="')[1:]]
    assert tomorrow.isoformat() not in offered and holiday.isoformat() not in offered
    assert (tomorrow + timedelta(days=2)).isoformat() in offered


def test_an_invitation_link_about_one_campaign_shows_it_first(app, make, recall, customer):
    recall.dealership()
    older = recall.campaign(title="Fuel pump")
    newer = recall.campaign(title="Seat belt buckle")
    vin = recall.owner(older).vin
    recall.add_vin(newer, vin)
    with app.test_request_context():
        from fieldsvc.selfservice.links import make_recall_link

        url = make_recall_link(db.session, vin, newer.id)
        db.session.commit()
    assert url.startswith("http://")
    page = customer.get(url.split("localhost", 1)[1]).data.decode()
    assert page.index(newer.code) < page.index(older.code)


def test_the_vin_check_is_audited_as_the_owner(app, make, recall, customer):
    recall.dealership()
    campaign = recall.campaign()
    vin = recall.owner(campaign, phone="+98 912 345 6789").vin
    home = customer.get("/self-service")
    assert (
        customer.post(
            "/self-service/recall", data={**form_fields(home.data), "vin": vin, "digits": "6789"}
        ).status_code
        == 303
    )
    assert ("self_service_link", "create", f"owner of VIN {vin}") in self_service_audit(app)


def test_a_booking_moves_to_a_nearby_dealership(app, make, recall, customer, link_for, tomorrow):
    near = recall.dealership(places=1, name="Azadi Auto", latitude=35.70, longitude=51.40)
    other = recall.dealership(places=1, name="Vanak Motors", latitude=35.76, longitude=51.41)
    campaign = recall.campaign()
    vin = recall.owner(campaign).vin
    path = link_for(vin=vin)
    assert (
        customer.submit(
            path,
            path + "/book",
            campaign_id=str(campaign.id),
            dealership_id=str(near.id),
            day=tomorrow.isoformat(),
        ).status_code
        == 303
    )
    page = customer.get(path).data.decode()
    assert f'data-dealership="{other.code}"' in page
    moved = customer.submit(
        path,
        path + "/reschedule",
        campaign_id=str(campaign.id),
        dealership_id=str(other.id),
        day=tomorrow.isoformat(),
    )
    assert moved.status_code == 303
    assert recall.appointments(campaign.id) == [(vin, "booked", other.id, tomorrow)]
    assert recall.ledger(near.id, campaign.id, tomorrow) == (1, 0)
    assert recall.ledger(other.id, campaign.id, tomorrow) == (1, 1)


def _offered(customer, path: str) -> list[str]:
    page = customer.get(path).data.decode()
    return [v.split('"', 1)[0] for v in page.split('<option value="')[1:]]


def test_a_place_taken_or_given_back_through_the_api_shows_on_the_next_page_view(
    app, make, recall, customer, client, link_for, tomorrow
):
    dealership = recall.dealership(places=1, name="Azadi Auto")
    campaign = recall.campaign()
    waiting, other = recall.owner(campaign).vin, recall.owner(campaign).vin
    path = link_for(vin=waiting)
    assert tomorrow.isoformat() in _offered(customer, path)

    booked = client.post(
        "/api/v1/recall-appointments",
        json={
            "campaign_id": campaign.id,
            "vin": other,
            "dealership_id": dealership.id,
            "day": tomorrow.isoformat(),
        },
    )
    assert booked.status_code == 201, booked.json
    assert tomorrow.isoformat() not in _offered(customer, path)

    cancelled = client.post(
        f"/api/v1/recall-appointments/{booked.json['id']}/cancel", json={"reason": "Sold"}
    )
    assert cancelled.status_code == 200
    assert tomorrow.isoformat() in _offered(customer, path)
