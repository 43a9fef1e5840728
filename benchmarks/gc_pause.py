"""Garbage-collector pauses inside requests, with and without freezing the startup heap.

    python benchmarks/gc_pause.py --requests 300          # both modes, one process each

A worker's heap after start-up (modules, the app, SQLAlchemy's mappers) is large and lives
for ever; every full (generation 2) collection walks all of it. gunicorn's
`post_worker_init` hook (fieldsvc.heap) freezes that heap, so full collections walk
only what requests allocated. This script seeds the demo into a temporary SQLite file,
signs in as the dispatcher and requests the dispatch board of the next working day
--requests times, in a fresh process per mode; it prints the request times and the pauses
of full collections that fell inside them (gc.callbacks).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(url: str, requests: int, freeze: bool) -> dict:
    from fieldsvc import create_app
    from fieldsvc.heap import freeze_startup_heap

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    client = app.test_client()
    form = client.get("/login").data
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    client.post("/login", data={"csrf_token": token.decode(), "username": "dispatcher",
                                "password": "dispatcher-demo-1404"})
    page = "/console/dispatch?territory=tehran"
    client.get(page)  # warm: templates compiled, caches filled, as a worker after its first
    if freeze:
        freeze_startup_heap()
    pauses: list[float] = []
    started: dict[str, float] = {}

    def watch(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started["at"] = time.perf_counter()
        elif "at" in started:
            pauses.append(time.perf_counter() - started.pop("at"))

    gc.callbacks.append(watch)
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        assert client.get(page).status_code == 200
        times.append(time.perf_counter() - t0)
    gc.callbacks.remove(watch)
    times.sort()
    return {"median": statistics.median(times), "p99": times[int(0.99 * len(times)) - 1],
            "max": times[-1], "full_collections": len(pauses),
            "pause_max": max(pauses, default=0.0), "pause_total": sum(pauses),
            "frozen": gc.get_freeze_count()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--mode", choices=("freeze", "plain"))
    ap.add_argument("--url")
    args = ap.parse_args(argv)
    if args.mode:
        print(json.dumps(measure(args.url, args.requests, args.mode == "freeze")))
        return 0
    url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + tempfile.mkdtemp(prefix="fieldsvc-gc-") + "/demo.sqlite3")
    env = dict(os.environ, DATABASE_URL=url)
    subprocess.run([sys.executable, "-c", "from fieldsvc.cli import main; main()", "demo",
                    "--no-serve"], env=env,
                   check=True, capture_output=True)
    for mode in ("plain", "freeze"):
        out = subprocess.run([sys.executable, __file__, "--mode", mode, "--url", url,
                              "--requests", str(args.requests)], env=env, check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{mode:>6}: {args.requests} board requests: median {r['median'] * 1000:.1f} ms, "
              f"p99 {r['p99'] * 1000:.1f} ms, max {r['max'] * 1000:.1f} ms; full collections "
              f"inside them {r['full_collections']}, longest {r['pause_max'] * 1000:.1f} ms, "
              f"total {r['pause_total'] * 1000:.1f} ms; objects frozen {r['frozen']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
