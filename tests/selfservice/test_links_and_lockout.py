"""Links: tampered, expired, replayed and foreign ones refused; the VIN/phone lockout."""

from __future__ import annotations

import re
from datetime import timedelta

from fieldsvc.extensions import db
from fieldsvc.selfservice.models import SelfServiceLink
from tests.selfservice.conftest import Customer, form_fields


def _lookup(customer, vin, digits):
    home = customer.get("/self-service")
    return customer.post(
        "/self-service/recall", data={**form_fields(home.data), "vin": vin, "digits": digits}
    )


def test_tampered_unknown_and_wrong_purpose_links_are_refused(
    app, make, recall, customer, link_for
):
    recall.dealership()
    campaign = recall.campaign()
    path = link_for(vin=recall.owner(campaign).vin)
    token = path.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (
        f"/self-service/recall/{tampered}",
        "/self-service/recall/not-a-token",
        f"/self-service/t/{token}",
    ):  # a recall link is no track link
        answer = customer.get(bad)
        assert answer.status_code == 403, bad
        assert b'id="refused"' in answer.data and b"not valid" in answer.data
    # A well-signed token whose id was never handed out.
    with app.test_request_context():
        from fieldsvc.selfservice.links import _serializer

        forged = _serializer().dumps({"j": "made-up"})
    assert customer.get(f"/self-service/recall/{forged}").status_code == 403


def test_an_expired_link_gets_a_clear_410_page(app, make, recall, customer, link_for, tomorrow):
    dealership = recall.dealership()
    campaign = recall.campaign()
    vin = recall.owner(campaign).vin
    path = link_for(vin=vin, ttl=timedelta(seconds=-1))
    answer = customer.get(path)
    assert answer.status_code == 410 and b"expired" in answer.data
    booked = customer.post(
        path + "/book",
        data={
            "campaign_id": str(campaign.id),
            "dealership_id": str(dealership.id),
            "day": tomorrow.isoformat(),
            "step": "0",
        },
    )
    assert booked.status_code in (400, 410)  # no CSRF token from a page, or the link
    assert recall.appointments(campaign.id) == []


def test_a_replayed_form_is_refused_and_changes_nothing(
    app, make, recall, customer, link_for, tomorrow
):
    dealership = recall.dealership(places=3)
    campaign = recall.campaign()
    vin = recall.owner(campaign).vin
    path = link_for(vin=vin)
    page = customer.get(path)
    data = {
        **form_fields(page.data, path + "/book"),
        "campaign_id": str(campaign.id),
        "dealership_id": str(dealership.id),
        "day": tomorrow.isoformat(),
    }
    assert customer.post(path + "/book", data=data).status_code == 303
    cancel = {
        **form_fields(customer.get(path).data, path + "/cancel"),
        "campaign_id": str(campaign.id),
    }
    assert customer.post(path + "/cancel", data=cancel).status_code == 303
    # The booking form sent again (the same step): refused, the cancellation stands.
    again = customer.post(path + "/book", data=data)
    assert again.status_code == 409 and b"sent already" in again.data
    assert recall.appointments(campaign.id) == [(vin, "cancelled", dealership.id, tomorrow)]
    assert recall.ledger(dealership.id, campaign.id, tomorrow) == (3, 0)
    with app.app_context():
        steps = db.session.scalar(db.select(SelfServiceLink.steps))
        db.session.remove()
    assert steps == 2


def test_no_such_vin_and_wrong_digits_get_the_same_answer(app, make, recall, customer):
    recall.dealership()
    campaign = recall.campaign()
    vin = recall.owner(campaign, phone="+98 912 345 6789").vin
    wrong = _lookup(customer, vin, "0000")
    unknown = _lookup(customer, "JTDKB20U0ZZZZZZZZ", "6789")
    assert wrong.status_code == unknown.status_code == 403
    def body(response) -> str:
        # The form's CSRF token carries the second it was signed in; it is no hint.
        text = response.data.decode().replace(vin, "").replace("JTDKB20U0ZZZZZZZZ", "")
        return re.sub(r'name="csrf_token"[^>]*value="[^"]*"', 'name="csrf_token"', text)

    assert body(wrong) == body(unknown)
    # Persian digits typed on a phone are digits too.
    assert _lookup(customer, vin, "۶۷۸۹").status_code == 303


def test_repeated_wrong_digits_lock_the_vin_even_for_the_right_ones(app, make, recall, customer):
    recall.dealership()
    campaign = recall.campaign()
    vin = recall.owner(campaign, phone="+98 912 345 6789").vin
    limit = app.config["SELF_SERVICE_MAX_FAILURES"]
    codes = [_lookup(customer, vin, f"{n:04d}").status_code for n in range(limit)]
    assert codes == [403] * (limit - 1) + [429]
    locked = _lookup(customer, vin, "6789")
    assert locked.status_code == 429 and b"Too many wrong attempts" in locked.data
    # Another phone (address) does not help, and an unknown VIN locks the same way.
    assert _lookup(Customer(app), vin, "6789").status_code == 429
    unknown = [_lookup(customer, "JTDKB20U0YYYYYYYY", "1111").status_code for _ in range(limit + 1)]
    assert unknown == [403] * (limit - 1) + [429, 429]


def test_a_right_answer_clears_earlier_wrong_ones(app, make, recall, customer):
    recall.dealership()
    campaign = recall.campaign()
    vin = recall.owner(campaign, phone="+98 912 345 6789").vin
    limit = app.config["SELF_SERVICE_MAX_FAILURES"]
    for _ in range(limit - 1):
        assert _lookup(customer, vin, "0000").status_code == 403
    assert _lookup(customer, vin, "6789").status_code == 303
    assert _lookup(customer, vin, "0000").status_code == 403  # counting starts again


def test_a_link_never_reaches_another_owners_appointment(
    app, make, recall, customer, link_for, tomorrow
):
    dealership = recall.dealership(places=3)
    campaign = recall.campaign()
    other = recall.campaign()
    mine = recall.owner(campaign).vin
    theirs = recall.owner(other).vin
    theirs_path = link_for(vin=theirs)
    assert (
        customer.submit(
            theirs_path,
            theirs_path + "/book",
            campaign_id=str(other.id),
            dealership_id=str(dealership.id),
            day=tomorrow.isoformat(),
        ).status_code
        == 303
    )
    path = link_for(vin=mine)
    page = customer.get(path).data.decode()
    assert theirs not in page and other.code not in page
    # Their campaign's id on my link: my VIN is not affected by it; nothing of theirs moves.
    for action, extra in (
        ("cancel", {}),
        (
            "reschedule",
            {
                "dealership_id": str(dealership.id),
                "day": (tomorrow + timedelta(days=1)).isoformat(),
            },
        ),
    ):
        answer = customer.submit(
            path, path + f"/{action}", form=path + "/book", campaign_id=str(other.id), **extra
        )
        assert answer.status_code == 422
        assert theirs not in answer.data.decode()
    assert customer.get(f"{path}/{other.id}.ics").status_code == 404
    assert recall.appointments(other.id) == [(theirs, "booked", dealership.id, tomorrow)]


def test_erasing_a_customer_withdraws_their_links(app, make, recall, customer, link_for):
    from fieldsvc.context import Actor
    from fieldsvc.models import WorkOrder
    from fieldsvc.services.erasure import erase_customer

    recall.dealership()
    campaign = recall.campaign()
    asset = recall.owner(campaign)
    wo = make.work_order(site=make.site(asset.customer))
    keep = make.work_order()
    paths = [link_for(work_order=wo), link_for(vin=asset.vin)]
    other = link_for(work_order=keep)
    with app.app_context():
        erase_customer(db.session, asset.customer_id, Actor(id=None, name="dpo", source="cli"))
        db.session.commit()
        assert db.session.get(WorkOrder, wo.id).customer_id == asset.customer_id
        db.session.remove()
    for path in paths:
        answer = customer.get(path)
        assert answer.status_code == 403 and b"withdrawn" in answer.data
    assert customer.get(other).status_code == 200


def test_a_mistyped_north_american_vin_is_told_at_once_and_not_counted(app, make, customer):
    from fieldsvc.vin import with_check_digit

    good = with_check_digit("1HGCM82633A004352")
    bad = good[:8] + ("0" if good[8] != "0" else "1") + good[9:]
    limit = app.config["SELF_SERVICE_MAX_FAILURES"]
    for _ in range(limit + 1):
        answer = _lookup(customer, bad, "1234")
        assert answer.status_code == 422 and b"check digit" in answer.data
    assert _lookup(customer, good, "1234").status_code == 403  # not locked by typos
