"""Recall benchmark: allocation (min-cost flow vs greedy) and booking throughput.

    python benchmarks/recall_allocation.py allocate --owners 50000 --dealerships 60 --days 30
    python benchmarks/recall_allocation.py booking --clients 50 --attempts 4000 \
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres

`allocate` runs the solver of `scheduler/recall.py` alone (no database): owners spread
around six Iranian cities (the capital with a third of them), dealerships in the same
regions with 20-40 places a day, phases starting on days 0 / 3 / 7. It reports the time and
total geodesic travel of the min-cost flow against a greedy baseline (owners in random
order each take the nearest dealership with a free place), and checks capacity.

`booking` creates a PostgreSQL database (dropped first), migrates it, adds dealerships, a
campaign and its VINs, starts gunicorn on 127.0.0.1 and lets N concurrent keep-alive
clients book distinct VINs on random dealership days (`POST /api/v1/recall-appointments`)
until the attempts run out or the time limit passes. More attempts than places, so both
201s and 409s happen; afterwards the ledger is checked against the appointments (no day
over capacity, booked = appointments).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.recall import DealershipPlaces, Owner, allocate, greedy_nearest  # noqa: E402

# (region, lat, lon, share of owners, share of dealerships, phase start day)
CITIES = [
    ("Tehran", 35.70, 51.39, 0.34, 0.30, 0),
    ("Karaj", 35.83, 50.97, 0.12, 0.12, 0),
    ("Isfahan", 32.65, 51.67, 0.16, 0.16, 3),
    ("Mashhad", 36.30, 59.60, 0.16, 0.16, 3),
    ("Shiraz", 29.59, 52.58, 0.12, 0.14, 7),
    ("Tabriz", 38.08, 46.29, 0.10, 0.12, 7),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------- allocation


def instance(owners: int, dealerships: int, days: int, seed: int):
    rng = random.Random(seed)
    first = date(2026, 3, 1)
    people, dealers, starts = [], [], {}
    for region, lat, lon, owner_share, dealer_share, start in CITIES:
        starts[region] = first + timedelta(days=start)
        for _ in range(round(owners * owner_share)):
            # Metropolitan spread: most within ~15 km, a tail out to ~60 km.
            r = abs(rng.gauss(0, 0.12)) + (0.3 * rng.random() if rng.random() < 0.1 else 0)
            a = rng.uniform(0, 6.2832)
            people.append(Owner(len(people), region, lat + r * 0.9 * math.sin(a),
                                lon + r * math.cos(a)))
        for _ in range(max(1, round(dealerships * dealer_share))):
            dealers.append(DealershipPlaces(
                len(dealers), region, lat + rng.gauss(0, 0.08), lon + rng.gauss(0, 0.1),
                {first + timedelta(days=d): rng.randint(20, 40) for d in range(days)}))
    rng.shuffle(people)
    return people, dealers, starts


def check(result, dealers) -> None:
    used = Counter((p.dealership, p.day) for p in result.placed.values())
    by_key = {d.key: d for d in dealers}
    over = [(k, n) for k, n in used.items() if n > by_key[k[0]].free.get(k[1], 0)]
    assert not over, f"capacity exceeded: {over[:5]}"


def run_allocation(args) -> None:
    owners, dealers, starts = instance(args.owners, args.dealerships, args.days, args.seed)
    places = sum(sum(d.free.values()) for d in dealers)
    usable = sum(n for d in dealers for day, n in d.free.items() if day >= starts[d.region])
    log(f"{len(owners)} owners, {len(dealers)} dealerships, {args.days} days: {places} places "
        f"({usable} on or after the phase starts)")
    rows = []
    for name, solve in (("min-cost flow", lambda: allocate(owners, dealers, starts,
                                                            candidates=args.candidates)),
                        ("greedy nearest", lambda: greedy_nearest(owners, dealers, starts))):
        t0 = time.perf_counter()
        result = solve()
        seconds = time.perf_counter() - t0
        check(result, dealers)
        km = result.total_metres / 1000
        placed = len(result.placed)
        rows.append((name, seconds, placed, len(result.unplaced), km, km / max(placed, 1)))
    print(f"{'method':<16}{'seconds':>9}{'placed':>9}{'unplaced':>10}{'total km':>14}"
          f"{'mean km':>9}")
    for name, seconds, placed, unplaced, km, mean in rows:
        print(f"{name:<16}{seconds:>9.2f}{placed:>9}{unplaced:>10}{km:>14.1f}{mean:>9.2f}")
    flow, greedy = rows[0], rows[1]
    same = flow[2] == greedy[2]
    print(f"flow vs greedy: {100 * (flow[4] - greedy[4]) / greedy[4]:+.1f} % total travel"
          f"{'' if same else ' (different numbers placed)'}; "
          f"{100 * (flow[5] - greedy[5]) / greedy[5]:+.1f} % per placed owner")


# ---------------------------------------------------------------------------- booking


def recreate(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def fill(url: str, dealerships: int, days: int, places: int, vins: int) -> dict:
    """Migrate and add the rows through the app's models; return token, ids and days."""
    env = dict(os.environ, DATABASE_URL=url)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi:app", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    from datetime import time as clock

    from fieldsvc import create_app
    from fieldsvc.auth.tokens import digest
    from fieldsvc.extensions import db
    from fieldsvc.models import AuthToken, User
    from fieldsvc.models.base import utcnow
    from fieldsvc.models.enums import CampaignStatus, Role
    from fieldsvc.recall.models import CampaignVin, Dealership, RecallCampaign

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    raw = secrets.token_urlsafe(32)
    with app.app_context():
        session = db.session
        user = User(username="bench-agent", password_hash="!benchmark-only", role=Role.AGENT,
                    active=True, failed_logins=0)
        session.add(user)
        dealers = [Dealership(code=f"BD-{n}", name=f"Bench dealer {n}", region="Tehran",
                              latitude=35.7, longitude=51.4, timezone="UTC", bays=1,
                              opens_at=clock(8), closes_at=clock(8 + places),
                              working_days="0123456") for n in range(dealerships)]
        session.add_all(dealers)
        campaign = RecallCampaign(code="BENCH", title="Benchmark recall", remedy_minutes=60,
                                  status=CampaignStatus.ACTIVE, parts_available=True)
        session.add(campaign)
        session.flush()
        session.add(AuthToken(user_id=user.id, token_hash=digest(raw), kind="api",
                              created_at=utcnow(), expires_at=utcnow() + timedelta(days=1)))
        vin_list = [f"BNCH{n:013d}" for n in range(vins)]
        session.add_all(CampaignVin(campaign_id=campaign.id, vin=v) for v in vin_list)
        session.commit()
        first = utcnow().date() + timedelta(days=1)
        return {"token": raw, "campaign": campaign.id, "dealers": [d.id for d in dealers],
                "days": [(first + timedelta(days=n)).isoformat() for n in range(days)],
                "vins": vin_list}


def start_server(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, FIELDSVC_RATELIMIT="off")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads",
         str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env, start_new_session=True)
    return wait_until_healthy(proc, port)


def wait_until_healthy(proc: subprocess.Popen, port: int) -> subprocess.Popen:
    """`proc` once the server on `port` answers /healthz (stopped, and exit, after 60 s)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def load(port: int, state: dict, clients: int, attempts: int, seconds: float,
         seed: int) -> dict:
    latencies: list[float] = []
    codes: Counter = Counter()
    lock = threading.Lock()
    jobs = iter(range(min(attempts, len(state["vins"]))))
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": "Bearer " + state["token"],
               "Content-Type": "application/json"}

    def client(k: int) -> None:
        rnd = random.Random(seed * 1000 + k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                n = next(jobs, None)
            if n is None:
                break
            body = json.dumps({"campaign_id": state["campaign"], "vin": state["vins"][n],
                               "dealership_id": rnd.choice(state["dealers"]),
                               "day": rnd.choice(state["days"])})
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/recall-appointments", body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
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
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    return {"requests": len(latencies), "seconds": wall, "rps": len(latencies) / wall,
            "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000, "codes": codes}


def verify(url: str) -> tuple[int, int, int, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        over = conn.execute("SELECT count(*) FROM dealership_day WHERE booked > capacity"
                            ).fetchone()[0]
        mismatch = conn.execute("""
            SELECT count(*) FROM dealership_day d
            WHERE d.booked <> (SELECT count(*) FROM recall_appointment a
                               WHERE a.pool_id = d.id)""").fetchone()[0]
        booked = conn.execute("SELECT count(*) FROM recall_appointment").fetchone()[0]
        capacity = conn.execute("SELECT coalesce(sum(capacity), 0) FROM dealership_day"
                                ).fetchone()[0]
    return over, mismatch, booked, capacity


def run_booking(args) -> None:
    url = recreate(args.admin_url, args.database)
    state = fill(url, args.dealerships, args.days, args.places, args.attempts)
    total = args.dealerships * args.days * args.places
    log(f"{args.dealerships} dealerships x {args.days} days x {args.places} places = {total} "
        f"places; {args.attempts} booking attempts of distinct VINs")
    proc = start_server(url, args.port, args.workers, args.threads)
    try:
        log(f"gunicorn on 127.0.0.1:{args.port}: {args.workers} workers x {args.threads} "
            f"threads; {args.clients} clients")
        result = load(args.port, state, args.clients, args.attempts, args.seconds, args.seed)
    finally:
        stop_server(proc)
    over, mismatch, booked, capacity = verify(url)
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(result["codes"].items()))
    print(f"requests {result['requests']} in {result['seconds']:.1f} s = "
          f"{result['rps']:.0f} bookings/s; latency p50 {result['p50']:.0f} ms, "
          f"p95 {result['p95']:.0f} ms, p99 {result['p99']:.0f} ms")
    print(f"answers: {codes}")
    print(f"appointments {booked} = 201s {result['codes'].get(201, 0)}; days over capacity: "
          f"{over}; ledger rows whose booked differs from the appointments: {mismatch}; "
          f"places on touched days {capacity}")
    if over or mismatch or booked != result["codes"].get(201, 0):
        raise SystemExit("INCONSISTENT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("allocate", help="solver only: min-cost flow vs greedy")
    a.add_argument("--owners", type=int, default=50_000)
    a.add_argument("--dealerships", type=int, default=60)
    a.add_argument("--days", type=int, default=30)
    a.add_argument("--candidates", type=int, default=25)
    a.add_argument("--seed", type=int, default=1)
    b = sub.add_parser("booking", help="concurrent bookings against gunicorn on PostgreSQL")
    b.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    b.add_argument("--database", default="fieldsvc_recall_bench")
    b.add_argument("--clients", type=int, default=50)
    b.add_argument("--attempts", type=int, default=4000)
    b.add_argument("--seconds", type=float, default=120)
    b.add_argument("--dealerships", type=int, default=10)
    b.add_argument("--days", type=int, default=10)
    b.add_argument("--places", type=int, default=3, help="places per dealership-day")
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--threads", type=int, default=8)
    b.add_argument("--port", type=int, default=8763)
    b.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    run_allocation(args) if args.command == "allocate" else run_booking(args)


if __name__ == "__main__":
    main()
