"""What the outbox adds to a write, and how fast the dispatcher delivers webhooks.

Part 1, write overhead: the same work-order transitions (each order new -> scheduled ->
new, through `fieldsvc.services.work_orders.transition` and a commit, as a request does) in
alternating blocks with the outbox on and off (the work-order event helpers replaced by
no-ops for the "off" side), so machine noise falls on both sides alike. A transition writes
two events when it schedules (status_changed, assigned) and one when it unschedules. Wall
time and the CPU time of this thread (which other processes on a busy machine inflate
less) are both printed.

Part 2, delivery throughput: N events in the outbox, one webhook subscription to a local
HTTP receiver (its own process, HTTP/1.1 keep-alive, answers 204), then the dispatcher
(`fieldsvc.events.deliver`, as the scheduler job or the worker thread runs it) until every
delivery is acknowledged: fan-out, signing, POST, bookkeeping, commits.

    DATABASE_URL=postgresql://... python benchmarks/events.py [--transitions 2000]
        [--events 5000] [--concurrency 16] [--batch 200]

Targets: < 2 ms added to a write at p95; >= 1,000 events/s delivered. The database is
migrated and its work-order, outbox and subscription tables are written to: use a scratch
database.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transitions", type=int, default=2000, help="per side")
    parser.add_argument("--block", type=int, default=100, help="transitions per block")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=200)
    return parser.parse_args()


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def _serve(port_queue) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _world(session):
    from fieldsvc.models import Customer, Site, Technician

    customer = Customer(name="Bench customer", phone="+98 21 5555 0000")
    session.add(customer)
    session.flush()
    site = Site(customer_id=customer.id, name="Bench site", latitude=35.7, longitude=51.4,
                territory="bench")
    technician = Technician(code=f"BENCH-{time.time_ns()}", name="Bench technician",
                            home_latitude=35.7, home_longitude=51.4)
    session.add_all([site, technician])
    session.commit()
    return site, technician


def write_overhead(app, args) -> None:
    from fieldsvc.context import Actor
    from fieldsvc.events import work_orders as work_order_events
    from fieldsvc.extensions import db
    from fieldsvc.models import utcnow
    from fieldsvc.models.enums import WorkOrderStatus as S
    from fieldsvc.services import work_orders as service

    actor = Actor(id=None, name="bench", source="cli")
    real = {name: getattr(work_order_events, name) for name in ("status_changed", "assigned")}

    def off(*_args, **_kwargs):
        return None

    with app.app_context():
        session = db.session
        site, technician = _world(session)
        orders = [service.create_work_order(session, {"summary": f"Bench {i}",
                                                      "site_id": site.id}, actor)
                  for i in range(args.block)]
        session.commit()
        start = utcnow() + timedelta(days=1)
        times: dict[bool, list[float]] = {True: [], False: []}
        cpu: dict[bool, list[float]] = {True: [], False: []}
        blocks = max(1, args.transitions // (2 * args.block))
        for block in range(blocks * 2):
            on = block % 2 == 0
            for name, func in real.items():
                setattr(work_order_events, name, func if on else off)
            # Both sides do the same mix: every order is scheduled, then unscheduled.
            for wo in orders:
                for to in (S.SCHEDULED, S.NEW):
                    began, began_cpu = time.perf_counter(), time.thread_time()
                    if to == S.SCHEDULED:
                        service.transition(session, wo, to, actor,
                                           technician_id=technician.id,
                                           scheduled_start_at=start)
                    else:
                        service.transition(session, wo, to, actor, reason="bench")
                    session.commit()
                    times[on].append((time.perf_counter() - began) * 1000)
                    cpu[on].append((time.thread_time() - began_cpu) * 1000)
        for name, func in real.items():
            setattr(work_order_events, name, func)
        session.remove()
    print(f"write overhead: {len(times[True])} transitions per side, blocks of {args.block}")
    for label, values in (("wall", times), ("cpu of this thread", cpu)):
        for q in (0.5, 0.95, 0.99):
            with_, without = _percentile(values[True], q), _percentile(values[False], q)
            print(f"  {label} p{int(q * 100)}: with outbox {with_:.3f} ms, without "
                  f"{without:.3f} ms, added {with_ - without:+.3f} ms")


def throughput(app, args) -> None:
    from sqlalchemy import delete, func, select

    from fieldsvc import events
    from fieldsvc.events.models import DeliveryStatus, EventDelivery, WebhookSubscription
    from fieldsvc.events.outbox import emit
    from fieldsvc.events.webhooks import new_secret
    from fieldsvc.extensions import db

    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    port = ports.get(timeout=10)
    try:
        with app.app_context():
            session = db.session
            # Only this run's subscription: earlier runs' receivers are gone. Deliver what
            # part 1 left first (to nobody), so that only the new events are timed.
            session.execute(delete(EventDelivery))
            session.execute(delete(WebhookSubscription))
            session.commit()
            events.deliver(app, budget_seconds=600)
            subscription = WebhookSubscription(url=f"http://127.0.0.1:{port}/hook",
                                               events=["work_order.created"],
                                               secret=new_secret(), active=True)
            session.add(subscription)
            session.commit()
            subscription_id = subscription.id
            base = 10_000_000 + time.time_ns() % 1_000_000 * 100
            for i in range(args.events):
                emit(session, "work_order.created", "work_order", base + i,
                     {"work_order_id": base + i, "status": "new", "summary": f"Bench {i}",
                      "priority": 3, "customer_id": 1, "site_id": 1})
                if i % 1000 == 999:
                    session.commit()
            session.commit()
            session.remove()
        began, began_cpu = time.perf_counter(), time.process_time()
        events.deliver(app, budget_seconds=600)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        with app.app_context():
            delivered = db.session.scalar(select(func.count()).where(
                EventDelivery.target_id == subscription_id,
                EventDelivery.status == DeliveryStatus.DELIVERED))
            latencies = [v for (v,) in db.session.execute(select(
                EventDelivery.last_latency_ms).where(
                EventDelivery.target_id == subscription_id))]
            db.session.remove()
    finally:
        server.terminate()
    print(f"delivery: {delivered}/{args.events} events delivered in {elapsed:.2f} s = "
          f"{delivered / elapsed:.0f} events/s (concurrency {args.concurrency}, "
          f"batch {args.batch}); POST latency p50 {_percentile(latencies, 0.5):.2f} ms, "
          f"p95 {_percentile(latencies, 0.95):.2f} ms")
    print(f"  CPU of the delivering process: {cpu:.2f} s = {delivered / cpu:.0f} events per "
          "CPU-second (the receiver and PostgreSQL are other processes)")


def main() -> None:
    args = _args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database.")
    from flask_migrate import upgrade

    from fieldsvc import create_app

    app = create_app({"WEBHOOK_ALLOW_PRIVATE": True, "EVENTS_CONCURRENCY": args.concurrency,
                      "EVENTS_BATCH_SIZE": args.batch})
    with app.app_context():
        upgrade()
    print(f"load average before: {os.getloadavg()}")
    write_overhead(app, args)
    throughput(app, args)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
