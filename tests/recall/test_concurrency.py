"""N concurrent bookings for K free places: exactly K succeed, N−K get 409 (real threads)."""

from __future__ import annotations

import threading

from fieldsvc.extensions import db
from fieldsvc.recall.models import DealershipDay, RecallAppointment

URL = "/api/v1/recall-appointments"


def _race(app, client, bodies, path=URL):
    """POST every body at once, each from its own thread, client and connection."""
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def post(body):
        own = app.test_client()
        own.environ_base.update(client.environ_base)  # the same credentials
        barrier.wait()
        response = own.post(path, json=body)
        with lock:
            results.append((response.status_code, response.json))

    threads = [threading.Thread(target=post, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_n_concurrent_bookings_for_k_places_give_k_successes(app, client, recall, tomorrow):
    contenders, places = 12, 3
    dealer = recall.dealership(places=places)
    campaign = recall.campaign(vins=contenders)
    bodies = [{"campaign_id": campaign.id, "vin": v, "dealership_id": dealer.id,
               "day": tomorrow.isoformat()} for v in recall.vins(campaign)]
    results = _race(app, client, bodies)
    codes = sorted(code for code, _ in results)
    assert codes == [201] * places + [409] * (contenders - places), results
    assert all(body["type"].endswith("/day-full") for code, body in results if code == 409)
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (places, places)
    with app.app_context():
        booked = db.session.scalar(db.select(db.func.count(RecallAppointment.id)))
        assert booked == places
        assert db.session.scalar(db.select(db.func.count(DealershipDay.id))) == 1


def test_concurrent_bookings_with_some_places_already_taken(app, client, recall, tomorrow):
    """K = capacity − booked: two of five places are gone before the race starts."""
    dealer = recall.dealership(places=5)
    campaign = recall.campaign(vins=10)
    vins = recall.vins(campaign)
    for v in vins[:2]:
        assert client.post(URL, json={"campaign_id": campaign.id, "vin": v,
                                      "dealership_id": dealer.id,
                                      "day": tomorrow.isoformat()}).status_code == 201
    bodies = [{"campaign_id": campaign.id, "vin": v, "dealership_id": dealer.id,
               "day": tomorrow.isoformat()} for v in vins[2:]]
    codes = sorted(code for code, _ in _race(app, client, bodies))
    assert codes == [201] * 3 + [409] * 5
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (5, 5)


def test_the_same_vin_booked_concurrently_is_booked_once(app, client, recall, tomorrow):
    dealer = recall.dealership(places=10)
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    bodies = [{"campaign_id": campaign.id, "vin": v, "dealership_id": dealer.id,
               "day": tomorrow.isoformat()}] * 6
    codes = sorted(code for code, _ in _race(app, client, bodies))
    assert codes == [201] + [409] * 5
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (10, 1)


def test_concurrent_reschedules_into_one_free_place(app, client, recall, tomorrow):
    """Five bookings race for the single place of another day; the old places come back."""
    from datetime import timedelta

    later = tomorrow + timedelta(days=1)
    dealer = recall.dealership(places=5)
    campaign = recall.campaign(vins=5)
    ids = [client.post(URL, json={"campaign_id": campaign.id, "vin": v,
                                  "dealership_id": dealer.id,
                                  "day": tomorrow.isoformat()}).json["id"]
           for v in recall.vins(campaign)]
    assert client.put(f"/api/v1/dealerships/{dealer.id}/capacity/{later.isoformat()}",
                      json={"campaign_id": campaign.id, "capacity": 1}).status_code == 200
    barrier = threading.Barrier(len(ids))
    codes: list[int] = []
    lock = threading.Lock()

    def move(ident):
        own = app.test_client()
        own.environ_base.update(client.environ_base)
        barrier.wait()
        response = own.post(f"{URL}/{ident}/reschedule", json={"day": later.isoformat()})
        with lock:
            codes.append(response.status_code)

    threads = [threading.Thread(target=move, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(codes) == [200] + [409] * 4
    assert recall.ledger(dealer.id, campaign.id, later) == (1, 1)
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (5, 4)
