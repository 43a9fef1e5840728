"""Ten times the demo on PostgreSQL: nightly replan on two RQ workers, publish, SLA watch,
the technicians' days under load.

    flock /tmp/fieldsvc-bench.lock python benchmarks/scale.py \\
        --techs 500 --orders 20000 --territories 10 --time 30
    python benchmarks/scale.py --techs 40 --orders 800 --territories 4 --time 3   # a minute

1. Recreates the database (`--database`), migrates it, and generates the network with bulk
   INSERTs (COPY for the work orders and their skills): technicians spread over the
   territories with skills and shifts, one site per work order, every work order open
   (`new`) for tomorrow, a quarter of them with response SLAs due within the hour.
2. Nightly replan end to end: starts two `fieldsvc worker` processes (FIELDSVC_RUN_QUEUE=rq,
   Redis `--redis-url`, emptied first), runs the scheduler's `nightly_replan` job (one run
   per territory onto the queue) and waits until every run has finished. Wall time, and
   each worker's peak RSS (VmHWM) at the end.
3. Publish: asks for every finished run's publication (`request_publish`, the same path as
   POST .../publish) and waits until the workers have published them all: wall time and the
   longest single publication.
4. SLA watch: the scheduler's `sla_watch` job; its wall time and its longest transaction (a
   transaction holds its row locks until it ends).
5. Mobile day: gunicorn (2 workers x 4 threads), 50 clients in a closed loop on the days of
   the first half of the technicians, first alone (read-only), then while a writer updates
   the work orders of the other half as fast as it can. p95 of each, and the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mobile_day import load, pct, start_server, stop_server  # noqa: E402

CENTERS = [
    (35.70, 51.40),
    (35.83, 50.97),
    (32.65, 51.67),
    (29.61, 52.53),
    (36.30, 59.60),
    (38.08, 46.29),
    (31.32, 48.67),
    (34.32, 47.07),
    (37.28, 49.58),
    (30.28, 57.08),
]
SKILLS = ("hvac", "electrical", "plumbing", "network")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def recreate(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def make_app(url: str, redis_url: str, time_limit: float):
    os.environ.update(
        DATABASE_URL=url,
        FIELDSVC_RUN_QUEUE="rq",
        REDIS_URL=redis_url,
        FIELDSVC_LOG_LEVEL=os.environ.get("FIELDSVC_LOG_LEVEL", "WARNING"),
        FIELDSVC_REPLAN_TIME_LIMIT=str(time_limit),
    )
    from fieldsvc import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "RUN_QUEUE": "rq",
            "REDIS_URL": redis_url,
            "REPLAN_TIME_LIMIT": time_limit,
        }
    )


def generate(app, techs: int, orders: int, territories: int, seed: int) -> dict:
    """The network; returns the plan day and the technicians' ids by territory."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from fieldsvc.dates import today_in
    from fieldsvc.extensions import db
    from fieldsvc.models import (
        Customer,
        Shift,
        Site,
        Skill,
        Technician,
        TechnicianSkill,
        Warehouse,
        WorkOrder,
        WorkOrderSkill,
    )
    from fieldsvc.models.enums import WarehouseKind, WorkOrderStatus, WorkOrderType
    from fieldsvc.services.pg_copy import copy_rows

    rng = random.Random(seed)
    names = [f"t{k:02d}" for k in range(territories)]
    t0 = time.perf_counter()
    with app.app_context():
        upgrade()
        s = db.session
        s.info["audit_disabled"] = True
        skill_ids = list(
            s.scalars(insert(Skill).returning(Skill.id), [{"code": c, "name": c} for c in SKILLS])
        )
        vans = list(
            s.scalars(
                insert(Warehouse).returning(Warehouse.id),
                [
                    {"code": f"VAN-{k}", "name": f"Van {k}", "kind": WarehouseKind.VAN}
                    for k in range(techs)
                ],
            )
        )
        tech_rows = []
        for k in range(techs):
            lat, lon = CENTERS[k % territories % len(CENTERS)]
            tech_rows.append(
                {
                    "code": f"S-{k}",
                    "name": f"Tech {k}",
                    "territory": names[k % territories],
                    "home_latitude": lat + rng.uniform(-0.15, 0.15),
                    "home_longitude": lon + rng.uniform(-0.2, 0.2),
                    "van_warehouse_id": vans[k],
                }
            )
        tech_ids = list(s.scalars(insert(Technician).returning(Technician.id), tech_rows))
        s.execute(
            insert(TechnicianSkill),
            [
                {"technician_id": t, "skill_id": sk, "level": rng.randint(2, 5)}
                for t in tech_ids
                for sk in rng.sample(skill_ids, 3)
            ],
        )
        s.execute(
            insert(Shift),
            [
                {"technician_id": t, "weekday": wd, "start_time": "08:00", "end_time": "17:00"}
                for t in tech_ids
                for wd in range(7)
            ],
        )
        customers = list(
            s.scalars(
                insert(Customer).returning(Customer.id),
                [{"name": f"Customer {k}"} for k in range(max(1, orders // 10))],
            )
        )
        site_rows = []
        for k in range(orders):
            lat, lon = CENTERS[k % territories % len(CENTERS)]
            site_rows.append(
                {
                    "customer_id": customers[k % len(customers)],
                    "name": f"site {k}",
                    "address": "x",
                    "territory": names[k % territories],
                    "latitude": lat + rng.uniform(-0.15, 0.15),
                    "longitude": lon + rng.uniform(-0.2, 0.2),
                }
            )
        sites = list(s.scalars(insert(Site).returning(Site.id), site_rows))
        day = today_in(app.config["DEFAULT_TIMEZONE"]) + timedelta(days=1)
        now = datetime.now(UTC)
        wo_table = WorkOrder.__table__
        columns = [
            "id",
            "type",
            "status",
            "priority",
            "summary",
            "customer_id",
            "site_id",
            "estimated_minutes",
            "pinned",
            "version",
            "response_due_at",
            "created_at",
            "updated_at",
        ]
        first = s.execute(
            db.text("SELECT nextval(pg_get_serial_sequence('work_order', 'id'))")
        ).scalar()
        rows = []
        for k in range(orders):
            due = now + timedelta(minutes=rng.randint(-30, 50)) if k % 4 == 0 else None
            rows.append(
                (
                    first + k,
                    WorkOrderType.BREAKDOWN.value,
                    WorkOrderStatus.NEW.value,
                    rng.randint(2, 4),
                    f"job {k}",
                    customers[k % len(customers)],
                    sites[k],
                    rng.choice([30, 45, 60]),
                    False,
                    1,
                    due,
                    now,
                    now,
                )
            )
        copy_rows(s, wo_table, columns, rows)
        s.execute(
            db.text("SELECT setval(pg_get_serial_sequence('work_order', 'id'), :n)"),
            {"n": first + orders},
        )
        copy_rows(
            s,
            WorkOrderSkill.__table__,
            ["work_order_id", "skill_id", "min_level"],
            [(first + k, rng.choice(skill_ids), 1) for k in range(orders)],
        )
        s.commit()
    with psycopg.connect(app.config["SQLALCHEMY_DATABASE_URI"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    log(
        f"generated {techs} technicians, {orders} work orders, {territories} territories "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return {"day": day, "tech_ids": tech_ids}


def start_workers(url: str, redis_url: str, n: int) -> list[subprocess.Popen]:
    env = dict(os.environ, DATABASE_URL=url, FIELDSVC_RUN_QUEUE="rq", REDIS_URL=redis_url)
    # `python -c` from the checkout: this tree's code, whatever the installed entry point.
    command = [sys.executable, "-c", "from fieldsvc.cli import main; main()", "worker"]
    return [subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True) for _ in range(n)]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def runs_state(app) -> list[tuple]:
    from sqlalchemy import select

    from fieldsvc.extensions import db
    from fieldsvc.models import OptimizationRun

    with app.app_context():
        rows = db.session.execute(
            select(
                OptimizationRun.id,
                OptimizationRun.status,
                OptimizationRun.publish_status,
                OptimizationRun.assigned_count,
                OptimizationRun.unassigned_count,
                OptimizationRun.solve_seconds,
                OptimizationRun.publish_message,
                OptimizationRun.error,
            )
        ).all()
        db.session.remove()
    return rows


def wait_for(app, done, what: str, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if done(runs_state(app)):
            return time.perf_counter() - started
        time.sleep(1)
    raise SystemExit(f"{what}: not done within {timeout:.0f} s: {runs_state(app)}")


def sla_watch_timed(app) -> tuple[float, float, str]:
    """The scheduler's SLA watch job: wall time, longest transaction, its summary."""
    from sqlalchemy import event

    from fieldsvc.extensions import db
    from scheduler.jobs import sla_watch

    spans: list[float] = []
    opened: dict[int, float] = {}
    with app.app_context():
        engine = db.engine

    def begin(conn):
        opened[id(conn)] = time.perf_counter()

    def end(conn):
        start = opened.pop(id(conn), None)
        if start is not None:
            spans.append(time.perf_counter() - start)

    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)
    t0 = time.perf_counter()
    summary = sla_watch(app)
    wall = time.perf_counter() - t0
    event.remove(engine, "begin", begin)
    event.remove(engine, "commit", end)
    event.remove(engine, "rollback", end)
    return wall, max(spans, default=0.0), summary or ""


def tokens_for(url: str, tech_ids: list[int]) -> list[str]:
    """A technician user and an API token for each technician (COPY)."""
    now = datetime.now(UTC)
    tokens = []
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "COPY user_account (username, password_hash, role, "
            "technician_id, active, failed_logins, created_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            for t in tech_ids:
                copy.write_row((f"tech{t}", "!benchmark-only", "technician", t, True, 0, now, now))
        users = dict(
            conn.execute(
                "SELECT technician_id, id FROM user_account WHERE technician_id IS NOT NULL"
            ).fetchall()
        )
        with conn.cursor().copy(
            "COPY auth_token (user_id, token_hash, kind, created_at, expires_at) FROM STDIN"
        ) as copy:
            for t in tech_ids:
                raw = secrets.token_urlsafe(32)
                tokens.append(raw)
                copy.write_row(
                    (
                        users[t],
                        hashlib.sha256(raw.encode()).hexdigest(),
                        "api",
                        now,
                        now + timedelta(days=2),
                    )
                )
        conn.commit()
    return tokens


def writer(url: str, tech_ids: list[int], stop: threading.Event, counts: list[int]) -> None:
    """Update the scheduled work orders of `tech_ids`, one per transaction, until stopped."""
    with psycopg.connect(url) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM work_order WHERE technician_id = ANY(%s)", (tech_ids,)
            )
        ]
        rng = random.Random(3)
        while not stop.is_set() and ids:
            conn.execute(
                "UPDATE work_order SET description = %s, version = version + 1 WHERE id = %s",
                (f"note {rng.random():.6f}", rng.choice(ids)),
            )
            conn.commit()
            counts[0] += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--database", default="fieldsvc_scale_bench")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    ap.add_argument("--techs", type=int, default=500)
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--territories", type=int, default=10)
    ap.add_argument("--time", type=float, default=30, help="search seconds per territory")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30, help="each mobile load phase")
    ap.add_argument("--port", type=int, default=8795)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()

    base = args.admin_url.rsplit("/", 1)[0]
    url = f"{base}/{args.database}"
    recreate(args.admin_url, args.database)
    from redis import Redis

    Redis.from_url(args.redis_url).flushdb()
    app = make_app(url, args.redis_url, args.time)
    world = generate(app, args.techs, args.orders, args.territories, args.seed)
    log(f"uptime: {os.popen('uptime').read().strip()}")

    # 2. Nightly replan on the workers.
    workers = start_workers(url, args.redis_url, args.workers)
    try:
        time.sleep(5)  # the workers load the optimizer's kernel before taking runs
        from scheduler.jobs import nightly_replan

        t0 = time.perf_counter()
        summary = nightly_replan(app)
        log(f"nightly replan enqueued: {summary}")
        timeout = args.territories * (args.time + 600)
        wait_for(
            app,
            lambda rows: rows and all(r[1].value in ("finished", "failed") for r in rows),
            "replan",
            timeout,
        )
        replan_wall = time.perf_counter() - t0
        rows = runs_state(app)
        assigned = sum(r[3] or 0 for r in rows)
        unassigned = sum(r[4] or 0 for r in rows)
        failed = [(r[0], r[7]) for r in rows if r[1].value == "failed"]
        log(
            f"REPLAN wall {replan_wall:.1f} s for {len(rows)} runs; assigned {assigned}, "
            f"unassigned {unassigned}; failed {failed}; solve seconds "
            f"{[round(r[5] or 0, 1) for r in rows]}"
        )
        log(
            "REPLAN peak RSS per worker (MB): "
            + ", ".join(f"{peak_rss_mb(w.pid):.0f}" for w in workers)
        )

        # 3. Publish every finished run on the workers.
        from fieldsvc.context import SYSTEM, acting_as
        from fieldsvc.dispatch.publish import request_publish
        from fieldsvc.dispatch.queue import PUBLISH, get_queue
        from fieldsvc.extensions import db
        from fieldsvc.models import OptimizationRun

        t0 = time.perf_counter()
        with app.app_context(), acting_as(SYSTEM):
            queued = []
            for run in db.session.query(OptimizationRun).filter_by(status="finished"):
                if request_publish(db.session, run, SYSTEM):
                    queued.append(run.id)
            db.session.commit()
            for run_id in queued:
                get_queue(app).enqueue(run_id, None, PUBLISH)
            db.session.remove()
        wait_for(
            app,
            lambda rows: all(r[2] in ("done", "failed") for r in rows if r[0] in queued),
            "publish",
            1800,
        )
        publish_wall = time.perf_counter() - t0
        messages = [r[6] for r in runs_state(app) if r[0] in queued]
        log(f"PUBLISH wall {publish_wall:.1f} s for {len(queued)} runs: {messages}")
        log(
            "peak RSS per worker after publish (MB): "
            + ", ".join(f"{peak_rss_mb(w.pid):.0f}" for w in workers)
        )
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(30)

    # 4. SLA watch.
    wall, longest, summary = sla_watch_timed(app)
    log(f"SLA WATCH wall {wall:.1f} s, longest transaction {longest * 1000:.0f} ms: {summary}")

    # 5. Mobile day: read-only, then with writes to the other half's work orders.
    ids = world["tech_ids"]
    readers, others = ids[: len(ids) // 2], ids[len(ids) // 2 :]
    tokens = tokens_for(url, readers)
    day = world["day"].isoformat()
    server = start_server(url, args.port, 2, 4, 100)
    try:
        load(args.port, day, tokens, args.clients, 10**9, 5, args.seed)  # warm-up
        quiet = load(args.port, day, tokens, args.clients, 10**9, args.seconds, args.seed)
        stop, counts = threading.Event(), [0]
        thread = threading.Thread(target=writer, args=(url, others, stop, counts))
        thread.start()
        busy = load(args.port, day, tokens, args.clients, 10**9, args.seconds, args.seed + 1)
        stop.set()
        thread.join()
    finally:
        stop_server(server)
    q95, b95 = pct(quiet["latencies"], 95) * 1000, pct(busy["latencies"], 95) * 1000
    log(
        f"MOBILE read-only: {len(quiet['latencies'])} days, p50 "
        f"{pct(quiet['latencies'], 50) * 1000:.1f} ms, p95 {q95:.1f} ms, errors "
        f"{quiet['errors']}"
    )
    log(
        f"MOBILE with writes elsewhere ({counts[0]} writes, "
        f"{counts[0] / args.seconds:.0f}/s): {len(busy['latencies'])} days, p50 "
        f"{pct(busy['latencies'], 50) * 1000:.1f} ms, p95 {b95:.1f} ms, errors "
        f"{busy['errors']}; ratio {b95 / q95:.2f} (target <= 1.5)"
    )
    log(f"uptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
