"""40 owners self-booking the last 10 places of a day at once: exactly 10 get one."""

from __future__ import annotations

import threading

from tests.selfservice.conftest import Customer, form_fields


def test_forty_owners_race_for_the_last_ten_places(app, make, recall, link_for, tomorrow):
    owners, places = 40, 10
    dealership = recall.dealership(places=12)
    campaign = recall.campaign()
    # Two of the day's twelve places are gone already (booked at the dealership).
    from fieldsvc.extensions import db
    from fieldsvc.recall import booking
    from fieldsvc.recall.models import Dealership, RecallCampaign

    early = [recall.add_vin(campaign) for _ in range(2)]
    with app.app_context():
        d, c = (
            db.session.get(Dealership, dealership.id),
            db.session.get(RecallCampaign, campaign.id),
        )
        for vin in early:
            booking.book(
                db.session,
                {"campaign_id": c.id, "vin": vin, "dealership_id": d.id, "day": tomorrow},
                _system(),
            )
        db.session.commit()
        db.session.remove()
    vins = [recall.owner(campaign).vin for _ in range(owners)]
    forms = []
    for vin in vins:
        path = link_for(vin=vin)
        phone = Customer(app)
        page = phone.get(path)
        assert page.status_code == 200
        forms.append((phone, path, form_fields(page.data, path + "/book")))

    choice = {
        "campaign_id": str(campaign.id),
        "dealership_id": str(dealership.id),
        "day": tomorrow.isoformat(),
    }
    barrier = threading.Barrier(owners)
    codes: list[int] = []
    lock = threading.Lock()

    def book(phone, path, fields):
        barrier.wait()
        answer = phone.post(path + "/book", data={**fields, **choice})
        with lock:
            codes.append(answer.status_code)

    threads = [threading.Thread(target=book, args=f) for f in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(codes) == [303] * places + [409] * (owners - places), codes
    assert recall.ledger(dealership.id, campaign.id, tomorrow) == (12, 12)
    booked = [a for a in recall.appointments(campaign.id) if a[1] == "booked"]
    assert len(booked) == 12
    assert recall.ledger_matches_appointments() == []


def _system():
    from fieldsvc.context import Actor

    return Actor(id=None, name="dealership clerk", source="console")
