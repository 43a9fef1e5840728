"""Self-service benchmark: the recall availability page and self-booking, 50 clients.

    python benchmarks/self_service.py --clients 50 --owners 3000 \
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres

Creates a PostgreSQL database (dropped first), migrates it, adds dealerships near each
other (so each page lists the owner's dealership and nearby ones with their free days), one
active campaign and its owners (customer, car, affected VIN, and a signed recall link each),
then starts gunicorn on 127.0.0.1 (rate limits off) and runs two phases with N concurrent
keep-alive clients, each a browser of its own (session cookie, CSRF token):

1. availability: GET the recall page of a random owner (`/self-service/recall/<token>`):
   the campaign, the allocated dealership's free days and the nearby dealerships'.
2. booking: each owner once: GET the page (for the form's CSRF token and step, as a phone
   does), then POST the booking of a random dealership-day among the benchmark's days. More
   owners than places, so the last places are contended; 303 = booked, 409 = day full.

Targets: page p95 < 50 ms; >= 200 bookings/s. Afterwards the ledger is checked against the
appointments (no day over capacity, each pool's booked = the appointments holding it).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from recall_allocation import log, recreate, start_server, stop_server, verify  # noqa: E402

CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
STEP = re.compile(rb'name="step" value="(\d+)"')


def fill(url: str, dealerships: int, places: int, owners: int, secret: str) -> dict:
    """Migrate, add dealerships, a campaign, its owners and one recall link per owner."""
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=secret)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi:app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    from datetime import time as clock

    from fieldsvc import create_app
    from fieldsvc.extensions import db
    from fieldsvc.models import Asset, Customer, Product, Site
    from fieldsvc.models.base import utcnow
    from fieldsvc.models.enums import CampaignStatus, ProductKind
    from fieldsvc.recall.models import CampaignVin, Dealership, RecallCampaign
    from fieldsvc.selfservice import links

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret, "SERVER_NAME": "bench.local"}
    )
    with app.app_context():
        session = db.session
        dealers = [
            Dealership(
                code=f"SD-{n}",
                name=f"Bench dealer {n}",
                region="Tehran",
                latitude=35.70 + n / 100,
                longitude=51.40 + n / 200,
                timezone="UTC",
                bays=1,
                opens_at=clock(8),
                closes_at=clock(8 + places),
                working_days="0123456",
            )
            for n in range(dealerships)
        ]
        session.add_all(dealers)
        campaign = RecallCampaign(
            code="SELF",
            title="Benchmark recall",
            remedy_minutes=60,
            status=CampaignStatus.ACTIVE,
            parts_available=True,
        )
        product = Product(code="CAR-1", name="Sedan", kind=ProductKind.CAR)
        session.add_all([campaign, product])
        session.flush()
        vins = []
        for n in range(owners):
            customer = Customer(name=f"Owner {n}", phone=f"0912{n:07d}", phone_key=f"912{n:07d}")
            session.add(customer)
            session.flush()
            site = Site(
                customer_id=customer.id,
                name="Home",
                latitude=35.7 + n % 50 / 1000,
                longitude=51.4,
                region="Tehran",
            )
            session.add(site)
            session.flush()
            vin = f"SELF{n:013d}"
            asset = Asset(customer_id=customer.id, product_id=product.id, site_id=site.id, vin=vin)
            session.add(asset)
            session.flush()
            session.add(CampaignVin(campaign_id=campaign.id, vin=vin, asset_id=asset.id))
            vins.append(vin)
        with app.test_request_context():
            tokens = [links.issue(session, links.RECALL, vin=v) for v in vins]
        session.commit()
        first = utcnow().date() + timedelta(days=1)
        return {
            "campaign": campaign.id,
            "dealers": [d.id for d in dealers],
            "first": first,
            "tokens": tokens,
        }


class Browser:
    """One keep-alive connection with its own session cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body, headers)
            response = self.conn.getresponse()
            data = response.read()
        except OSError:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return 0, b""
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, data


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    values = sorted(values)
    q = statistics.quantiles(values, n=100) if len(values) > 1 else [values[0]] * 99
    return q[49] * 1000, q[94] * 1000, q[98] * 1000


def availability(port: int, state: dict, clients: int, requests: int, seed: int) -> dict:
    latencies: list[float] = []
    codes: Counter = Counter()
    lock = threading.Lock()
    left = [requests]

    def client(k: int) -> None:
        rnd = random.Random(seed * 1000 + k)
        browser = Browser(port)
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            token = rnd.choice(state["tokens"])
            t0 = time.perf_counter()
            status, _ = browser.request("GET", f"/self-service/recall/{token}")
            with lock:
                latencies.append(time.perf_counter() - t0)
                codes[status] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "seconds": wall,
        "quantiles": _quantiles(latencies),
        "codes": codes,
    }


def booking(port: int, state: dict, clients: int, days: int, seed: int) -> dict:
    posts: list[float] = []
    codes: Counter = Counter()
    lock = threading.Lock()
    jobs = iter(state["tokens"])
    choices = [
        (d, (state["first"] + timedelta(days=n)).isoformat())
        for d in state["dealers"]
        for n in range(days)
    ]

    def client(k: int) -> None:
        rnd = random.Random(seed * 7919 + k)
        browser = Browser(port)
        while True:
            with lock:
                token = next(jobs, None)
            if token is None:
                return
            path = f"/self-service/recall/{token}"
            status, page = browser.request("GET", path)
            csrf, step = CSRF.search(page), STEP.search(page)
            if status != 200 or csrf is None or step is None:
                with lock:
                    codes[f"page {status}"] += 1
                continue
            dealer, day = rnd.choice(choices)
            body = urlencode(
                {
                    "csrf_token": csrf.group(1).decode(),
                    "step": step.group(1).decode(),
                    "campaign_id": state["campaign"],
                    "dealership_id": dealer,
                    "day": day,
                }
            )
            t0 = time.perf_counter()
            status, _ = browser.request("POST", path + "/book", body)
            with lock:
                posts.append(time.perf_counter() - t0)
                codes[status] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"posts": len(posts), "seconds": wall, "quantiles": _quantiles(posts), "codes": codes}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="fieldsvc_selfsvc_bench")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--owners", type=int, default=3000)
    parser.add_argument("--page-requests", type=int, default=3000)
    parser.add_argument("--dealerships", type=int, default=6)
    parser.add_argument("--days", type=int, default=10, help="days booked into")
    parser.add_argument("--places", type=int, default=8, help="places per dealership-day")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    secret = secrets.token_urlsafe(32)
    os.environ["SECRET_KEY"] = secret  # the server signs and checks with the same key
    url = recreate(args.admin_url, args.database)
    state = fill(url, args.dealerships, args.places, args.owners, secret)
    places = args.dealerships * args.days * args.places
    log(
        f"{args.owners} owners with links; {args.dealerships} dealerships x {args.days} "
        f"days x {args.places} places = {places} places booked into"
    )
    proc = start_server(url, args.port, args.workers, args.threads)
    try:
        log(
            f"gunicorn on 127.0.0.1:{args.port}: {args.workers} workers x {args.threads} "
            f"threads; {args.clients} clients"
        )
        page = availability(args.port, state, args.clients, args.page_requests, args.seed)
        p50, p95, p99 = page["quantiles"]
        log(
            f"availability page: {page['requests']} GETs in {page['seconds']:.1f} s = "
            f"{page['requests'] / page['seconds']:.0f}/s; p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
            f"p99 {p99:.1f} ms; answers {dict(page['codes'])} (target p95 < 50 ms)"
        )
        book = booking(args.port, state, args.clients, args.days, args.seed)
    finally:
        stop_server(proc)
    p50, p95, p99 = book["quantiles"]
    log(
        f"booking: {book['posts']} POSTs (each after its page GET) in {book['seconds']:.1f} s "
        f"= {book['posts'] / book['seconds']:.0f} bookings/s; POST p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms, p99 {p99:.0f} ms; answers {dict(book['codes'])} "
        "(target >= 200 bookings/s)"
    )
    over, mismatch, booked, capacity = verify(url)
    log(
        f"appointments {booked} = 303s {book['codes'].get(303, 0)}; days over capacity: "
        f"{over}; ledger rows whose booked differs from the appointments: {mismatch}; "
        f"places on touched days {capacity}"
    )
    if over or mismatch or booked != book["codes"].get(303, 0):
        raise SystemExit("INCONSISTENT")


if __name__ == "__main__":
    main()
