"""Mobile API benchmark: a technician's day from a database of 1,000,000 work orders.

    python benchmarks/mobile_day.py --work-orders 1000000 --clients 50 --seconds 60
    python benchmarks/mobile_day.py --skip-fill --clients 50 --revalidate --seconds 60

Fills a PostgreSQL database (dropped and re-created; COPY, a few minutes for a million
work orders with customers, sites, assets, history, parts, van stock, tickets, RMAs and
recalls in proportion), starts gunicorn on 127.0.0.1, then loads technicians' days
(`GET /api/mobile/v1/day`, a random technician's token each time) with N concurrent
keep-alive clients in a closed loop. Prints p50/p95/p99 latency and requests per second.

The load comes from `wrk` (Debian package `wrk`: a C client, a few per cent of a core at
a thousand requests per second, so the server keeps the CPU) driven by a generated Lua
script; without wrk, or with `--rate` (open loop), a Python client with one thread per
connection does it, which itself needs much of a core at these rates.
`--revalidate`: each phone sends `If-None-Match` with the ETag of its day (fetched once
before the run), as a phone that already holds its day does; unchanged days are 304.
`--skip-fill` reuses a database filled by an earlier run of the same size (migrating it
to the current schema first).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from recall_allocation import stop_server, wait_until_healthy  # noqa: E402

TZ = ZoneInfo("Asia/Tehran")
DAY_JOBS = 8  # jobs on each technician's benchmark day
HISTORY_DAYS = 730


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------ database


def recreate(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def migrate(url: str) -> None:
    env = dict(os.environ, DATABASE_URL=url)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi:app", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True)


def copy(conn, table: str, columns: list[str], rows) -> int:
    n = 0
    with conn.cursor() as cur, cur.copy(
            f'COPY {table} ({", ".join(columns)}) FROM STDIN') as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def fill(url: str, work_orders: int, seed: int) -> dict:
    """Fill the database; return the benchmark day and the technicians' tokens."""
    rnd = random.Random(seed)
    techs = max(10, work_orders // 1000)
    customers = max(20, work_orders // 10)
    sites = customers + customers // 5
    assets = customers * 2
    products, parts_n = 200, 500
    now = datetime.now(UTC)
    day = datetime.now(TZ).date()
    created = now - timedelta(days=HISTORY_DAYS + 30)
    day_jobs = techs * DAY_JOBS
    history_jobs = work_orders - day_jobs
    tokens: list[str] = []
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        copy(conn, "product", ["id", "code", "name", "kind", "created_at", "updated_at"],
             ((i, f"P-{i}", f"Model {i}", "printer", created, created)
              for i in range(1, products + 1)))
        copy(conn, "part", ["id", "sku", "name", "serialized", "created_at", "updated_at"],
             ((i, f"PART-{i}", f"Part {i}", False, created, created)
              for i in range(1, parts_n + 1)))
        copy(conn, "warehouse", ["id", "code", "name", "kind", "created_at", "updated_at"],
             ((i, f"VAN-{i}", f"Van {i}", "van", created, created)
              for i in range(1, techs + 1)))
        copy(conn, "technician",
             ["id", "code", "name", "home_latitude", "home_longitude", "timezone",
              "break_minutes", "max_work_minutes", "overtime_limit_minutes", "active",
              "van_warehouse_id", "territory", "created_at", "updated_at"],
             ((i, f"T-{i}", f"Technician {i}", 35.6 + rnd.random() * 0.2,
               51.3 + rnd.random() * 0.2, "Asia/Tehran", 30, 480, 60, True, i, "tehran",
               created, created) for i in range(1, techs + 1)))
        # Each van carries 40 of the parts.
        copy(conn, "stock_level", ["warehouse_id", "part_id", "on_hand", "reserved"],
             ((w, p, rnd.randint(0, 6), 0) for w in range(1, techs + 1)
              for p in rnd.sample(range(1, parts_n + 1), 40)))
        log(f"catalog, {techs} technicians and vans")
        access = json.dumps({d: ["08:00", "17:00"] for d in ("sat", "sun", "mon", "tue",
                                                            "wed")})
        copy(conn, "customer", ["id", "name", "tier", "phone", "consent_marketing",
                                "created_at", "updated_at"],
             ((i, f"Customer {i}", "standard", f"+98 21 {i:08d}", False, created, created)
              for i in range(1, customers + 1)))
        copy(conn, "site", ["id", "customer_id", "name", "address", "city", "territory",
                            "latitude", "longitude", "access_hours", "created_at",
                            "updated_at"],
             ((i, (i - 1) % customers + 1, f"Site {i}", f"Street {i}", "Tehran", "tehran",
               35.6 + rnd.random() * 0.2, 51.3 + rnd.random() * 0.2, access, created,
               created) for i in range(1, sites + 1)))
        copy(conn, "asset", ["id", "product_id", "customer_id", "site_id", "serial_number",
                             "created_at", "updated_at"],
             ((i, rnd.randint(1, products), (i - 1) % customers + 1,
               (i - 1) % customers + 1, f"SN{i:09d}", created, created)
              for i in range(1, assets + 1)))
        log(f"{customers} customers, {sites} sites, {assets} assets")

        checklist = json.dumps([{"item": "Clean paper path", "done": False},
                                {"item": "Check fuser", "done": False}])

        def work_order_rows():
            for i in range(1, work_orders + 1):
                asset = rnd.randint(1, assets)
                customer = (asset - 1) % customers + 1
                tech = rnd.randint(1, techs)
                if i <= history_jobs:
                    start = now - timedelta(days=rnd.randint(1, HISTORY_DAYS),
                                            minutes=rnd.randint(0, 600))
                    done = start + timedelta(minutes=90)
                    yield (i, "breakdown", "completed", 3, f"Job {i}", "Paper jam", customer,
                           customer, asset, 60, tech, start, start + timedelta(hours=1),
                           False, start, start + timedelta(minutes=20), done, "Fixed",
                           "FIX", True, None, 5, start, done)
                else:
                    k = i - history_jobs - 1
                    tech, slot = k // DAY_JOBS + 1, k % DAY_JOBS
                    start = datetime.combine(day, datetime.min.time(), TZ) \
                        + timedelta(hours=8 + slot)
                    yield (i, "breakdown", "dispatched", 2, f"Job {i}", "Prints streaks",
                           customer, customer, asset, 60, tech, start,
                           start + timedelta(hours=1), False, None, None, None, None, None,
                           None, checklist, 2, now, now)

        n = copy(conn, "work_order",
                 ["id", "type", "status", "priority", "summary", "description", "customer_id",
                  "site_id", "asset_id", "estimated_minutes", "technician_id",
                  "scheduled_start_at", "scheduled_end_at", "pinned", "started_at",
                  "arrived_at", "completed_at", "resolution", "resolution_code",
                  "first_time_fix", "checklist", "version", "created_at", "updated_at"],
                 work_order_rows())
        log(f"{n} work orders ({day_jobs} on {day})")

        def part_lines():
            for i in range(1, work_orders + 1, 4):
                for p in rnd.sample(range(1, parts_n + 1), 2 if i % 3 == 0 else 1):
                    yield (i, p, rnd.randint(1, 2), 0, 0)
            for i in range(history_jobs + 1, work_orders + 1):
                if (i - 1) % 4:  # every day job needs a part or two
                    yield (i, rnd.randint(1, parts_n), 1, 0, 0)

        n = copy(conn, "work_order_part",
                 ["work_order_id", "part_id", "quantity", "reserved", "issued"], part_lines())
        log(f"{n} work-order part lines")
        n = copy(conn, "ticket", ["id", "customer_id", "channel", "category", "subject",
                                  "priority", "status", "created_at", "updated_at"],
                 ((i, rnd.randint(1, customers), "phone", "request", f"Ticket {i}", 3,
                   "open" if i % 5 == 0 else "closed", created, created)
                  for i in range(1, customers + 1)))
        n += copy(conn, "rma", ["id", "number", "type", "status", "customer_id", "asset_id",
                                "quantity", "entitlement", "entitlement_reason",
                                "charge_customer", "created_at", "updated_at"],
                  ((i, f"RMA-0000-{i:06d}", "advance_exchange",
                    "approved" if i % 2 else "closed", rnd.randint(1, customers), None, 1,
                    "warranty", "In warranty", False, created, created)
                   for i in range(1, customers // 10 + 1)))
        conn.execute("INSERT INTO recall_campaign (id, code, title, status, remedy_minutes, "
                      "parts_available, created_at, updated_at) VALUES (1, 'RC-1', "
                      "'Fuser recall', 'active', 60, true, now(), now())")
        n += copy(conn, "recall_appointment", ["campaign_id", "vin", "customer_id", "status",
                                               "created_at", "updated_at"],
                  ((1, f"VIN{i:014d}", rnd.randint(1, customers), "invited", created, created)
                   for i in range(1, customers // 5 + 1)))
        log(f"{n} tickets, RMAs and recall appointments")

        password = "!benchmark-only"  # not a usable password hash: tokens only
        copy(conn, "user_account", ["id", "username", "password_hash", "role", "technician_id",
                                    "active", "failed_logins", "created_at", "updated_at"],
             ((i, f"tech{i}", password, "technician", i, True, 0, created, created)
              for i in range(1, techs + 1)))

        def token_rows():
            for i in range(1, techs + 1):
                raw = secrets.token_urlsafe(32)
                tokens.append(raw)
                yield (i, hashlib.sha256(raw.encode()).hexdigest(), "api", now,
                       now + timedelta(days=2))

        copy(conn, "auth_token", ["user_id", "token_hash", "kind", "created_at", "expires_at"],
             token_rows())
        for table in ("product", "part", "warehouse", "technician", "customer", "site",
                      "asset", "work_order", "ticket", "rma", "recall_campaign",
                      "user_account"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    log(f"filled in {time.perf_counter() - t0:.0f} s (with VACUUM ANALYZE)")
    return {"day": day.isoformat(), "tokens": tokens}


# --------------------------------------------------------------------------- server


def start_server(url: str, port: int, workers: int, threads: int, connections: int,
                 cache: bool = True) -> subprocess.Popen:
    # The production defaults (rate limits on: GETs are not limited but still checked).
    env = dict(os.environ, DATABASE_URL=url)
    if not cache:
        env["FIELDSVC_MOBILE_DAY_CACHE_SIZE"] = "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads",
         str(threads), "--worker-connections", str(connections), "--keep-alive", "75",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env, start_new_session=True)
    return wait_until_healthy(proc, port)


# ----------------------------------------------------------------------------- load


def load(port: int, day: str, tokens: list[str], clients: int, requests: int,
         seconds: float, seed: int, rate: float = 0) -> dict:
    """Closed loop (each client sends its next request when the last one is answered), or
    with `rate` > 0 open loop: the clients together start `rate` requests per second."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.perf_counter() + seconds
    path = f"/api/mobile/v1/day?date={day}"

    def client(n: int) -> None:
        rnd = random.Random(seed + n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        interval = clients / rate if rate > 0 else 0
        due = time.perf_counter() + rnd.random() * interval
        while time.perf_counter() < deadline:
            if interval:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                due += interval
            with lock:
                if next(counter, None) is None:
                    break
            headers = {"Authorization": "Bearer " + rnd.choice(tokens)}
            t = time.perf_counter()
            for attempt in (1, 2):
                try:
                    conn.request("GET", path, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    ok = resp.status == 200 and b'"jobs"' in body
                    key = None if ok else f"HTTP {resp.status}"
                    break
                except (OSError, http.client.HTTPException) as exc:
                    # A keep-alive connection the server closed while idle: reconnect and
                    # send again once, as any HTTP client does for a GET.
                    key = type(exc).__name__
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    if attempt == 1:
                        t = time.perf_counter()
            elapsed = time.perf_counter() - t
            with lock:
                if key is None:
                    latencies.append(elapsed)
                else:
                    errors[key] = errors.get(key, 0) + 1
        conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "wall": wall}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def day_path(day: str) -> str:
    return f"/api/mobile/v1/day?date={day}"


def fetch_etags(port: int, day: str, tokens: list[str]) -> list[str]:
    """Each technician's day once (checked: 200 with jobs), and its ETag."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    tags = []
    for token in tokens:
        conn.request("GET", day_path(day), headers={"Authorization": "Bearer " + token})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200 or b'"jobs"' not in body or not resp.getheader("ETag"):
            raise SystemExit(f"day answer not as expected: HTTP {resp.status} {body[:200]!r}")
        tags.append(resp.getheader("ETag"))
    conn.close()
    return tags


WRK_SCRIPT = r"""
local tokens = {%(tokens)s}
local tags = %(tags)s
local path = "%(path)s"
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("id", count)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(%(seed)d + id)
  ok, not_modified, other = 0, 0, 0
end

function request()
  local i = math.random(#tokens)
  local headers = {Authorization = "Bearer " .. tokens[i]}
  if tags then headers["If-None-Match"] = tags[i] end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 304 then not_modified = not_modified + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local s200, s304, bad = 0, 0, 0
  for _, t in ipairs(threads) do
    s200 = s200 + t:get("ok")
    s304 = s304 + t:get("not_modified")
    bad = bad + t:get("other")
  end
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d\n",
    summary.duration, s200, s304, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    math.floor(latency.mean), latency.max, summary.requests))
end
"""


def load_wrk(port: int, day: str, tokens: list[str], tags: list[str] | None, clients: int,
             seconds: float, seed: int) -> dict:
    """Closed loop from wrk: `clients` keep-alive connections, each sending its next
    request when the last one is answered."""
    script = WRK_SCRIPT % {
        "tokens": ",".join(f'"{t}"' for t in tokens),
        "tags": "{" + ",".join("'" + t + "'" for t in tags) + "}" if tags else "nil",
        "path": day_path(day), "seed": seed}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
             "-s", f.name, f"http://127.0.0.1:{port}"],
            check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    (duration, ok, not_modified, bad, socket_errors, p50, p95, p99, mean, top,
     sent) = map(int, line.split()[1:])
    return {"wall": duration / 1e6, "ok": ok, "not_modified": not_modified,
            "errors": {"HTTP other than 200/304": bad, "socket": socket_errors},
            "ms": {"p50": p50 / 1000, "p95": p95 / 1000, "p99": p99 / 1000,
                   "mean": mean / 1000, "max": top / 1000}}


def python_summary(result: dict) -> dict:
    lat = [x * 1000 for x in result["latencies"]]
    if not lat:
        raise SystemExit(f"no successful request; errors: {result['errors']}")
    return {"wall": result["wall"], "ok": len(lat), "not_modified": 0,
            "errors": result["errors"],
            "ms": {"p50": pct(lat, 50), "p95": pct(lat, 95), "p99": pct(lat, 99),
                   "mean": statistics.fmean(lat), "max": max(lat)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--database", default="fieldsvc_mobile_bench")
    ap.add_argument("--work-orders", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup", type=int, default=500,
                    help="requests before measuring (Python client)")
    ap.add_argument("--warmup-seconds", type=float, default=30,
                    help="seconds of load before measuring (wrk)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rate", type=float, default=0,
                    help="open loop: total requests per second (default: closed loop)")
    ap.add_argument("--revalidate", action="store_true",
                    help="phones send If-None-Match with their day's ETag (wrk only)")
    ap.add_argument("--no-cache", action="store_true",
                    help="the server keeps no rendered day: every request builds it, as "
                         "right after a write")
    ap.add_argument("--client", choices=("wrk", "python"),
                    default="wrk" if shutil.which("wrk") else "python")
    ap.add_argument("--skip-fill", action="store_true",
                    help="reuse the database and tokens of an earlier run")
    args = ap.parse_args()

    base = args.admin_url.rsplit("/", 1)[0]
    url = f"{base}/{args.database}"
    state_file = Path(f"/tmp/{args.database}.json")
    if args.skip_fill and state_file.exists():
        state = json.loads(state_file.read_text())
        migrate(url)
        log(f"reusing {args.database} ({state['work_orders']} work orders), migrated")
    else:
        recreate(args.admin_url, args.database)
        migrate(url)
        log(f"database {args.database} created and migrated")
        state = fill(url, args.work_orders, args.seed)
        state["work_orders"] = args.work_orders
        state_file.write_text(json.dumps(state))

    if args.rate or args.revalidate:
        args.client = "python" if args.rate else "wrk"
    if args.client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk); or use --client python")
    # Keep-alive connections stay with the worker that accepted them: without a cap one
    # worker can take all of them and leave the other idle. Each worker takes its share
    # (+ threads: gunicorn keeps at most connections - threads idle ones alive).
    connections = -(-args.clients // args.workers) + args.threads
    server = start_server(url, args.port, args.workers, args.threads, connections,
                          cache=not args.no_cache)
    try:
        log(f"gunicorn on 127.0.0.1:{args.port}: {args.workers} workers x {args.threads} "
            f"threads; {args.client} client")
        tags = fetch_etags(args.port, state["day"], state["tokens"])
        log(f"{len(tags)} technicians' days fetched and checked")
        if args.client == "wrk":
            use = tags if args.revalidate else None
            log(f"warm-up {args.warmup_seconds:g} s")
            load_wrk(args.port, state["day"], state["tokens"], use, args.clients,
                     args.warmup_seconds, 1)
            log(f"measuring {args.seconds:g} s")
            res = load_wrk(args.port, state["day"], state["tokens"], use, args.clients,
                           args.seconds, args.seed)
        else:
            log(f"warm-up {args.warmup} requests")
            load(args.port, state["day"], state["tokens"], args.clients, args.warmup, 60, 1)
            res = python_summary(load(args.port, state["day"], state["tokens"], args.clients,
                                      args.requests, args.seconds, args.seed, args.rate))
    finally:
        stop_server(server)
    ms = res["ms"]
    answered = res["ok"] + res["not_modified"]
    errors = {k: v for k, v in res["errors"].items() if v}
    mode = f"open loop, {args.rate:g} req/s offered" if args.rate else "closed loop"
    print()
    print(f"work orders          {state['work_orders']:,}")
    print(f"day                  {state['day']} ({DAY_JOBS} jobs per technician)")
    print(f"server               gunicorn {args.workers} workers x {args.threads} threads "
          f"(gthread, {connections} connections each), day cache "
          f"{'off' if args.no_cache else 'on'}")
    print(f"clients              {args.clients} ({mode}, {args.client}"
          f"{', If-None-Match' if args.revalidate else ', full body each time'})")
    print(f"requests answered    {answered:,} in {res['wall']:.1f} s "
          f"(200: {res['ok']:,}, 304: {res['not_modified']:,})")
    print(f"errors               {sum(errors.values())} {errors or ''}")
    print(f"requests per second  {answered / res['wall']:.0f}")
    print(f"latency ms           p50 {ms['p50']:.1f}  p95 {ms['p95']:.1f}  "
          f"p99 {ms['p99']:.1f}  mean {ms['mean']:.1f}  max {ms['max']:.1f}")
    print(f"target p95 < 50 ms   {'met' if ms['p95'] < 50 else 'NOT met'}")

if __name__ == "__main__":
    main()
