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

The clients run on the same 2 cores as the server. `--client threads` (the first version)
is 50 Python threads that share the GIL and take a large part of the CPU; `--client lean`
drives the page phase with `wrk` (C, a Lua script picks a random owner's link per
request, 50 connections) and the booking phase with one asyncio loop holding 50
keep-alive connections. Either way "50 clients" is 50 concurrent connections that never
pause (a closed loop: mean latency = 50 / throughput, so p95 < 50 ms needs more than
1000 pages/s). Each phase also reports the CPU it cost per request: the gunicorn
workers' own CPU (from /proc) and the whole machine's busy CPU (from /proc/stat,
which includes PostgreSQL, the client and anything else running).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
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

from recall_allocation import (  # noqa: E402
    log,
    recreate,
    stop_server,
    verify,
    wait_until_healthy,
)

CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
STEP = re.compile(rb'name="step" value="(\d+)"')


def start_server(
    url: str, port: int, workers: int, threads: int, worker_class: str
) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, FIELDSVC_RATELIMIT="off")
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", worker_class]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    return wait_until_healthy(proc, port)


def _ticks(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _busy() -> float:
    """Busy CPU seconds of the whole machine so far (all cores)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _workers(proc: subprocess.Popen) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in out.split()]


class CpuMeter:
    """CPU spent during a phase: by the gunicorn workers, and by the whole machine."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.pids = _workers(proc)
        self.workers0, self.busy0 = _ticks(self.pids), _busy()

    def per(self, count: int) -> str:
        workers, busy = _ticks(self.pids) - self.workers0, _busy() - self.busy0
        count = max(count, 1)
        return (
            f"CPU per request: gunicorn workers {workers / count * 1000:.1f} ms, "
            f"whole machine {busy / count * 1000:.1f} ms"
        )


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


WRK_SCRIPT = """
local tokens = {}
for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
local seeded = false
request = function()
  if not seeded then math.randomseed(%(seed)d); seeded = true end
  return wrk.format("GET", "/self-service/recall/" .. tokens[math.random(#tokens)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%f %%f %%f %%f %%d %%d\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def availability_wrk(
    port: int, state: dict, clients: int, seconds: int, seed: int, floor: bool = False
) -> dict:
    """The page phase driven by wrk: `clients` connections, a random owner per request.

    With `floor`, every request is GET /healthz instead (one SELECT 1 through the same
    app, middleware and gunicorn): what any request costs before the page's own work."""
    if shutil.which("wrk") is None:
        raise SystemExit("--client lean needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as folder:
        tokens = Path(folder, "tokens")
        tokens.write_text("\n".join(state["tokens"]) + "\n")
        script = Path(folder, "page.lua")
        text = WRK_SCRIPT % {"tokens": tokens, "seed": seed}
        if floor:
            text = text.replace(
                '"/self-service/recall/" .. tokens[math.random(#tokens)]', '"/healthz"'
            )
        script.write_text(text)
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{clients}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    count, wall, p50, p95, p99, bad, failed = line.split()[1:]
    return {
        "requests": int(count),
        "seconds": float(wall),
        "quantiles": (float(p50), float(p95), float(p99)),
        "codes": {"not 2xx/3xx": int(bad), "socket errors": int(failed)},
    }


class LeanBrowser:
    """One keep-alive connection with its own session cookie, on an asyncio loop."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookie = ""

    async def request(self, method: str, path: str, body: str | None = None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if self.cookie:
            head += f"Cookie: {self.cookie}\r\n"
        data = (body or "").encode()
        if body is not None:
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(data)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + data)
        try:
            status_line = await self.reader.readline()
            status, length, close = int(status_line.split()[1]), 0, False
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip()
                if name == "content-length":
                    length = int(value)
                elif name == "set-cookie":
                    self.cookie = value.split(";", 1)[0]
                elif name == "connection" and value.lower() == "close":
                    close = True
            page = await self.reader.readexactly(length)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            close, status, page = True, 0, b""
        if close:
            self.writer.close()
            self.writer = None
        return status, page


def booking_lean(port: int, state: dict, clients: int, days: int, seed: int) -> dict:
    """The booking phase on one asyncio loop: `clients` connections, each a browser."""
    posts: list[float] = []
    codes: Counter = Counter()
    jobs = iter(state["tokens"])
    choices = [
        (d, (state["first"] + timedelta(days=n)).isoformat())
        for d in state["dealers"]
        for n in range(days)
    ]

    async def client(k: int) -> None:
        rnd = random.Random(seed * 7919 + k)
        browser = LeanBrowser(port)
        for token in jobs:
            path = f"/self-service/recall/{token}"
            status, page = await browser.request("GET", path)
            csrf, step = CSRF.search(page), STEP.search(page)
            if status != 200 or csrf is None or step is None:
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
            status, _ = await browser.request("POST", path + "/book", body)
            posts.append(time.perf_counter() - t0)
            codes[status] += 1

    async def run() -> None:
        await asyncio.gather(*(client(k) for k in range(clients)))

    t0 = time.perf_counter()
    asyncio.run(run())
    wall = time.perf_counter() - t0
    return {"posts": len(posts), "seconds": wall, "quantiles": _quantiles(posts), "codes": codes}


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
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument(
        "--client",
        default="threads",
        choices=["threads", "lean"],
        help="threads: 50 Python threads; lean: wrk for pages, one asyncio loop for bookings",
    )
    parser.add_argument("--page-seconds", type=int, default=20, help="page phase under wrk")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="with --client lean: first drive GET /healthz the same way (the cost of any request)",
    )
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
    proc = start_server(url, args.port, args.workers, args.threads, args.worker_class)
    try:
        threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
        log(
            f"gunicorn on 127.0.0.1:{args.port}: {args.workers} {args.worker_class} "
            f"workers{threads}; {args.clients} clients ({args.client})"
        )
        if args.floor:
            meter = CpuMeter(proc)
            health = availability_wrk(
                args.port, state, args.clients, args.page_seconds, args.seed, floor=True
            )
            p50, p95, p99 = health["quantiles"]
            log(
                f"floor, GET /healthz: {health['requests']} in {health['seconds']:.1f} s = "
                f"{health['requests'] / health['seconds']:.0f}/s; p50 {p50:.1f} ms, "
                f"p95 {p95:.1f} ms, p99 {p99:.1f} ms; answers {dict(health['codes'])}; "
                + meter.per(health["requests"])
            )
        meter = CpuMeter(proc)
        if args.client == "lean":
            page = availability_wrk(args.port, state, args.clients, args.page_seconds, args.seed)
        else:
            page = availability(args.port, state, args.clients, args.page_requests, args.seed)
        p50, p95, p99 = page["quantiles"]
        log(
            f"availability page: {page['requests']} GETs in {page['seconds']:.1f} s = "
            f"{page['requests'] / page['seconds']:.0f}/s; p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
            f"p99 {p99:.1f} ms; answers {dict(page['codes'])} (target p95 < 50 ms); "
            + meter.per(page["requests"])
        )
        meter = CpuMeter(proc)
        if args.client == "lean":
            book = booking_lean(args.port, state, args.clients, args.days, args.seed)
        else:
            book = booking(args.port, state, args.clients, args.days, args.seed)
        book_cpu = meter.per(book["posts"]) + " (one page GET + one POST per booking)"
    finally:
        stop_server(proc)
    p50, p95, p99 = book["quantiles"]
    log(
        f"booking: {book['posts']} POSTs (each after its page GET) in {book['seconds']:.1f} s "
        f"= {book['posts'] / book['seconds']:.0f} bookings/s; POST p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms, p99 {p99:.0f} ms; answers {dict(book['codes'])} "
        f"(target >= 200 bookings/s); {book_cpu}"
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
