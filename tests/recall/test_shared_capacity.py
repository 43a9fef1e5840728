"""Places shared across campaigns, or reserved for one: booking, moves, allocation, figures."""

from __future__ import annotations

from datetime import timedelta

from fieldsvc.extensions import db
from fieldsvc.recall.models import DealershipDay
from tests.recall.test_concurrency import _race

URL = "/api/v1/recall-appointments"


def cap_url(dealer, day=None):
    base = f"/api/v1/dealerships/{dealer.id}/capacity"
    return base if day is None else f"{base}/{day.isoformat()}"


def _book(client, campaign, vin, dealer, day):
    return client.post(URL, json={"campaign_id": campaign.id, "vin": vin,
                                  "dealership_id": dealer.id, "day": day.isoformat()})


def _reserve(client, dealer, day, campaign, places):
    body = {"capacity": places}
    if campaign is not None:
        body["campaign_id"] = campaign.id
    return client.put(cap_url(dealer, day), json=body)


def _ledger_rows(app):
    with app.app_context():
        return sorted((tuple(r) for r in db.session.execute(db.select(
            DealershipDay.dealership_id, DealershipDay.day, DealershipDay.campaign_id,
            DealershipDay.capacity, DealershipDay.booked, DealershipDay.reserved,
            DealershipDay.overridden))), key=lambda r: (r[0], r[1], r[2] or 0))


def test_two_campaigns_racing_for_a_shared_day_get_exactly_its_places(app, client, recall,
                                                                      tomorrow):
    """12 bookings split over two campaigns for 5 shared places: 5 × 201, 7 × 409."""
    places = 5
    dealer = recall.dealership(places=places)
    first, second = recall.campaign(vins=6), recall.campaign(vins=6)
    bodies = [{"campaign_id": c.id, "vin": v, "dealership_id": dealer.id,
               "day": tomorrow.isoformat()} for c in (first, second) for v in recall.vins(c)]
    results = _race(app, client, bodies)
    codes = sorted(code for code, _ in results)
    assert codes == [201] * places + [409] * (len(bodies) - places), results
    assert all(body["type"].endswith("/day-full") and body["pool"] == "shared"
               for code, body in results if code == 409)
    # One ledger row, the shared pool, full; it counts exactly the appointments.
    assert _ledger_rows(app) == [(dealer.id, tomorrow, None, places, places, 0, False)]
    assert len(recall.appointments()) == places
    assert recall.ledger_matches_appointments() == []


def test_reserved_places_are_raced_for_by_their_campaign_only(app, client, recall, tomorrow):
    """6 places, 2 reserved for A: racing 8 A and 8 B bookings gives A 2 and B 4."""
    dealer = recall.dealership(places=6)
    a, b = recall.campaign(vins=8), recall.campaign(vins=8)
    assert _reserve(client, dealer, tomorrow, a, 2).status_code == 200
    bodies = [{"campaign_id": c.id, "vin": v, "dealership_id": dealer.id,
               "day": tomorrow.isoformat()} for c in (a, b) for v in recall.vins(c)]
    results = _race(app, client, bodies)
    assert len(results) == 16
    booked = [status for _, status, _, _ in recall.appointments(a.id)]
    assert booked == ["booked"] * 2
    assert len(recall.appointments(b.id)) == 4
    assert recall.ledger(dealer.id, a.id, tomorrow) == (2, 2)
    assert recall.ledger(dealer.id, b.id, tomorrow) == (4, 4)  # the shared pool
    assert recall.ledger_matches_appointments() == []


def test_a_reservation_is_its_campaigns_alone(client, recall, tomorrow):
    dealer = recall.dealership(places=4)
    a, b = recall.campaign(vins=3), recall.campaign(vins=4)
    assert _reserve(client, dealer, tomorrow, a, 1).status_code == 200
    av, bv = recall.vins(a), recall.vins(b)
    # B shares the 3 places the reservation leaves, and never gets A's.
    assert [_book(client, b, v, dealer, tomorrow).status_code for v in bv] == \
        [201, 201, 201, 409]
    # A books from its reservation only (the shared places are B's to take, and taken).
    assert _book(client, a, av[0], dealer, tomorrow).status_code == 201
    full = _book(client, a, av[1], dealer, tomorrow)
    assert full.status_code == 409 and full.json["pool"] == "reserved"
    # Ending the reservation hands its place and booking back to the shared pool.
    assert _reserve(client, dealer, tomorrow, a, None).status_code == 200
    assert recall.ledger(dealer.id, a.id, tomorrow) == (4, 4)
    assert recall.ledger_matches_appointments() == []


def test_a_campaign_with_shared_bookings_can_still_get_a_reservation(client, recall,
                                                                     tomorrow):
    """Bookings made in the shared pool stay there; new ones go to the reservation."""
    dealer = recall.dealership(places=5)
    a = recall.campaign(vins=4)
    av = recall.vins(a)
    assert _book(client, a, av[0], dealer, tomorrow).status_code == 201
    assert _reserve(client, dealer, tomorrow, a, 2).status_code == 200
    assert _book(client, a, av[1], dealer, tomorrow).status_code == 201
    day = client.get(cap_url(dealer), query_string={
        "from": tomorrow.isoformat(), "to": tomorrow.isoformat()}).json["days"][0]
    pools = {p["pool"]: p for p in day["pools"]}
    assert (pools["shared"]["capacity"], pools["shared"]["booked"]) == (3, 1)
    assert (pools["reserved"]["capacity"], pools["reserved"]["booked"]) == (2, 1)
    (mine,) = day["campaigns"]
    assert (mine["pool"], mine["holds"], mine["free"]) == ("reserved", 1, 1)
    # Cancelling the first booking gives its place back to the shared pool it came from.
    first = client.get(URL, query_string={"vin": av[0]}).json["items"][0]
    assert client.post(f"{URL}/{first['id']}/cancel", json={}).status_code == 200
    assert recall.ledger(dealer.id, None, tomorrow) == (3, 0)
    assert recall.ledger(dealer.id, a.id, tomorrow) == (2, 1)
    assert recall.ledger_matches_appointments() == []


def test_rescheduling_moves_a_place_between_pools(client, recall, tomorrow):
    later = tomorrow + timedelta(days=1)
    dealer = recall.dealership(places=2)
    a = recall.campaign(vins=1)
    (v,) = recall.vins(a)
    assert _reserve(client, dealer, tomorrow, a, 1).status_code == 200
    appt = _book(client, a, v, dealer, tomorrow).json
    assert recall.ledger(dealer.id, a.id, tomorrow) == (1, 1)  # the reservation
    moved = client.post(f"{URL}/{appt['id']}/reschedule", json={"day": later.isoformat()})
    assert moved.status_code == 200
    assert recall.ledger(dealer.id, a.id, tomorrow) == (1, 0)
    assert recall.ledger(dealer.id, a.id, later) == (2, 1)  # no reservation there: shared
    back = client.post(f"{URL}/{appt['id']}/reschedule", json={"day": tomorrow.isoformat()})
    assert back.status_code == 200
    assert recall.ledger(dealer.id, a.id, tomorrow) == (1, 1)
    assert recall.ledger(dealer.id, a.id, later) == (2, 0)
    assert recall.ledger_matches_appointments() == []


def test_allocating_two_campaigns_in_turn_never_overfills_a_shared_day(client, recall,
                                                                       tomorrow):
    """2 places a day for 2 days; A invites 3 owners, then B finds only the last place."""
    dealer = recall.dealership(places=2)
    a, b = recall.campaign(), recall.campaign()
    for campaign in (a, b):
        for _ in range(3):
            recall.owner(campaign)
    first = client.post(f"/api/v1/recall-campaigns/{a.id}/allocate",
                        json={"horizon_days": 2}).json
    assert first["invited"] == 3
    second = client.post(f"/api/v1/recall-campaigns/{b.id}/allocate",
                         json={"horizon_days": 2}).json
    assert second["invited"] == 1
    assert second["unplaced_by_reason"] == {"no-free-place": 2}
    for day in (tomorrow, tomorrow + timedelta(days=1)):
        assert recall.ledger(dealer.id, None, day) == (2, 2)
    assert recall.ledger_matches_appointments() == []
    # A day with a reservation for B: B's allocation uses it, A's cannot.
    third = tomorrow + timedelta(days=2)
    c = recall.campaign()
    recall.owner(c)
    recall.owner(c)
    assert _reserve(client, dealer, third, c, 1).status_code == 200
    report = client.post(f"/api/v1/recall-campaigns/{c.id}/allocate",
                         json={"horizon_days": 3}).json
    assert report["invited"] == 1  # its reserved place; the shared one of that day is not its
    assert recall.ledger(dealer.id, c.id, third) == (1, 1)
    assert recall.ledger(dealer.id, None, third) == (1, 0)


def test_capacity_figures_per_pool(client, recall, tomorrow):
    dealer = recall.dealership(places=5)
    a, b = recall.campaign(vins=2), recall.campaign(vins=3)
    assert _reserve(client, dealer, tomorrow, a, 2).status_code == 200
    _book(client, a, recall.vins(a)[0], dealer, tomorrow)
    for v in recall.vins(b)[:2]:
        _book(client, b, v, dealer, tomorrow)
    query = {"from": tomorrow.isoformat(), "to": tomorrow.isoformat()}
    (day,) = client.get(cap_url(dealer), query_string=query).json["days"]
    assert (day["capacity"], day["reserved"], day["booked"], day["free"]) == (5, 2, 3, 2)
    assert [(p["pool"], p["campaign_id"], p["capacity"], p["booked"], p["free"])
            for p in day["pools"]] == [("shared", None, 3, 2, 1), ("reserved", a.id, 2, 1, 1)]
    per_campaign = {c["campaign_id"]: (c["pool"], c["holds"], c["free"])
                    for c in day["campaigns"]}
    assert per_campaign == {a.id: ("reserved", 1, 1), b.id: ("shared", 2, 1)}
    (for_a,) = client.get(cap_url(dealer), query_string={**query, "campaign_id": a.id}
                          ).json["days"]
    assert (for_a["pool"], for_a["capacity"], for_a["booked"], for_a["free"]) == \
        ("reserved", 2, 1, 1)
    (for_b,) = client.get(cap_url(dealer), query_string={**query, "campaign_id": b.id}
                          ).json["days"]
    assert (for_b["pool"], for_b["capacity"], for_b["booked"], for_b["free"]) == \
        ("shared", 3, 2, 1)
    # The day's places set by hand: the shared pool gets what the reservation leaves.
    response = _reserve(client, dealer, tomorrow, None, 7)
    assert response.status_code == 200
    (day,) = response.json["days"]
    assert (day["capacity"], day["reserved"], day["free"], day["overridden"]) == \
        (7, 2, 4, True)


def test_progress_counts_a_shared_pool_once(client, recall, tomorrow):
    dealer = recall.dealership(places=4)
    a, b = recall.campaign(vins=1), recall.campaign(vins=2)
    _book(client, a, recall.vins(a)[0], dealer, tomorrow)
    for v in recall.vins(b):
        _book(client, b, v, dealer, tomorrow)
    for campaign in (a, b):
        body = client.get(f"/api/v1/recall-campaigns/{campaign.id}/progress").json
        assert body["days"] == [{"day": tomorrow.isoformat(), "capacity": 4, "booked": 3,
                                 "utilization": 0.75}]
        (dealer_row,) = body["by_dealership"]
        assert (dealer_row["capacity"], dealer_row["places_taken"]) == (4, 3)
        assert dealer_row["days"][0]["pool"] == "shared"


def test_refused_capacity_changes_say_why_and_change_nothing(app, client, recall, tomorrow):
    dealer = recall.dealership(places=4)
    a, b = recall.campaign(vins=2), recall.campaign(vins=2)
    assert _reserve(client, dealer, tomorrow, a, 2).status_code == 200
    _book(client, a, recall.vins(a)[0], dealer, tomorrow)
    for v in recall.vins(b):
        _book(client, b, v, dealer, tomorrow)
    before = _ledger_rows(app)

    too_many = _reserve(client, dealer, tomorrow, a, 5)  # the day has 4
    assert too_many.status_code == 422 and "capacity" in too_many.json["errors"]
    new_one = _reserve(client, dealer, tomorrow, b, 3)  # only 2 unreserved places
    assert new_one.status_code == 422
    below = _reserve(client, dealer, tomorrow, a, 0)  # one of A's two is booked
    assert below.status_code == 409 and below.json["booked"] == 1
    taken = _reserve(client, dealer, tomorrow, a, 3)  # the shared places are B's bookings
    assert taken.status_code == 409 and taken.json["booked"] == 2
    assert taken.json["type"].endswith("/shared-places-booked")
    day_below = _reserve(client, dealer, tomorrow, None, 3)  # 2 reserved + 2 shared booked
    assert day_below.status_code == 409 and day_below.json["booked"] == 2
    under_reserved = _reserve(client, dealer, tomorrow, None, 1)
    assert under_reserved.status_code == 409 and under_reserved.json["reserved"] == 2
    for body in ({"campaign_id": a.id, "capacity": -1}, {"capacity": "2"},
                 {"campaign_id": 999999, "capacity": 1}, {"campaign_id": a.id}):
        assert client.put(cap_url(dealer, tomorrow), json=body).status_code == 422, body
    assert _ledger_rows(app) == before
    assert recall.ledger_matches_appointments() == []


def test_a_dealership_sets_a_reservation_from_its_portal(app, recall, tomorrow):
    from tests.recall.test_portal import _csrf, _sign_in

    dealer = recall.dealership(places=3)
    a = recall.campaign()
    browser = _sign_in(app, dealer.id)
    token = _csrf(browser.get("/portal").data)
    done = browser.post("/portal/capacity", data={
        "csrf_token": token, "day": tomorrow.isoformat(), "campaign_id": str(a.id),
        "capacity": "2"}, follow_redirects=True)
    assert b"Saved." in done.data and b"(reserved)" in done.data
    assert recall.ledger(dealer.id, a.id, tomorrow) == (2, 0)
    before = _ledger_rows(app)
    refused = browser.post("/portal/capacity", data={
        "csrf_token": token, "day": tomorrow.isoformat(), "campaign_id": str(a.id),
        "capacity": "9"}, follow_redirects=True)
    assert b"could be reserved" in refused.data
    assert _ledger_rows(app) == before
    whole_day = browser.post("/portal/capacity", data={
        "csrf_token": token, "day": tomorrow.isoformat(), "capacity": "5"},
        follow_redirects=True)
    assert b"Saved." in whole_day.data
    assert recall.ledger(dealer.id, None, tomorrow) == (3, 0)  # 5 less the 2 reserved


def test_campaigns_of_different_remedy_lengths_share_places_of_the_longest(client, recall,
                                                                           tomorrow):
    """4 bay-hours: 4 one-hour places alone, but 2 places once a 2-hour remedy shares them."""
    dealer = recall.dealership(places=4)
    short = recall.campaign(vins=3, remedy_minutes=60)
    query = {"from": tomorrow.isoformat(), "to": tomorrow.isoformat()}
    assert client.get(cap_url(dealer), query_string=query).json["days"][0]["capacity"] == 4
    long = recall.campaign(vins=1, remedy_minutes=120)
    assert client.get(cap_url(dealer), query_string=query).json["days"][0]["capacity"] == 2
    assert _book(client, long, recall.vins(long)[0], dealer, tomorrow).status_code == 201
    codes = [_book(client, short, v, dealer, tomorrow).status_code for v in recall.vins(short)]
    assert codes == [201, 409, 409]
    assert recall.ledger(dealer.id, None, tomorrow) == (2, 2)


def test_concurrent_reservations_of_a_day_add_up(app, client, recall, tomorrow):
    """Four clerks reserve 2 places each for different campaigns of a 5-place day at once."""
    import threading

    dealer = recall.dealership(places=5)
    campaigns = [recall.campaign() for _ in range(4)]
    _reserve(client, dealer, tomorrow, None, None)  # the day's row exists before the race
    barrier = threading.Barrier(len(campaigns))
    codes: list[int] = []
    lock = threading.Lock()

    url = cap_url(dealer, tomorrow)

    def put(campaign_id):
        own = app.test_client()
        own.environ_base.update(client.environ_base)
        barrier.wait()
        response = own.put(url, json={"campaign_id": campaign_id, "capacity": 2})
        with lock:
            codes.append(response.status_code)

    threads = [threading.Thread(target=put, args=(c.id,)) for c in campaigns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(codes) == [200, 200, 422, 422]
    rows = _ledger_rows(app)
    shared = [r for r in rows if r[2] is None]
    reservations = [r for r in rows if r[2] is not None]
    assert [r[3] for r in reservations] == [2, 2]
    assert (shared[0][3], shared[0][5]) == (1, 4)  # 1 place left, 4 reserved


def test_day_of_service_and_reinvite_keep_and_take_the_right_pools(client, recall, tomorrow):
    from tests.recall.conftest import today_local

    today = today_local()
    dealer = recall.dealership(places=3)
    a, b = recall.campaign(), recall.campaign()
    mine, theirs = recall.owner(a), recall.owner(b)
    assert _reserve(client, dealer, today, a, 1).status_code == 200
    done = _book(client, a, mine.vin, dealer, today).json
    missed = _book(client, b, theirs.vin, dealer, today).json
    assert client.post(f"{URL}/{done['id']}/complete", json={}).status_code == 200
    assert client.post(f"{URL}/{missed['id']}/no-show", json={}).status_code == 200
    # Completed and no-show keep their places, each in its own pool.
    assert recall.ledger(dealer.id, a.id, today) == (1, 1)
    assert recall.ledger(dealer.id, None, today) == (2, 1)
    again = client.post(f"{URL}/{missed['id']}/reinvite",
                        json={"dealership_id": dealer.id, "day": tomorrow.isoformat()})
    assert again.status_code == 200 and again.json["status"] == "invited"
    # The new invitation holds a shared place of tomorrow; the missed day stays used.
    assert recall.ledger(dealer.id, b.id, tomorrow) == (3, 1)
    assert recall.ledger(dealer.id, None, today) == (2, 1)
    booked = client.post(f"{URL}/{missed['id']}/book", json={})
    assert booked.status_code == 200 and booked.json["status"] == "booked"
    assert recall.ledger(dealer.id, b.id, tomorrow) == (3, 1)


def test_places_set_by_hand_are_audited(client, recall, tomorrow):
    dealer = recall.dealership(places=4)
    a = recall.campaign()
    _reserve(client, dealer, tomorrow, None, 6)
    _reserve(client, dealer, tomorrow, a, 2)
    _reserve(client, dealer, tomorrow, a, 3)
    _reserve(client, dealer, tomorrow, a, None)
    _reserve(client, dealer, tomorrow, a, 9)  # refused: leaves no trace
    items = client.get("/api/v1/audit-log", query_string={
        "entity_type": "dealership_day", "per_page": 50, "sort": "id"}).json["items"]
    trail = [(e["action"], e["changes"]["pool"][1], e["changes"]["capacity"][1])
             for e in items if "pool" in (e["changes"] or {})]
    assert trail == [("update", "shared", 6), ("create", "reserved", 2),
                     ("update", "reserved", 3), ("delete", "reserved", None)]
