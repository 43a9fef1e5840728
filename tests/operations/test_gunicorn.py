"""Several gunicorn workers as one deployment: rate limits counted once in Redis, metrics
added up across the workers, and no start on per-process limits."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import make_user
from tests.operations.conftest import (
    REDIS_URL,
    free_port,
    metric,
    redis_or_skip,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[2]


def _env(app, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FIELDSVC_", "RATELIMIT_", "PROMETHEUS_", "REDIS_URL"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               SECRET_KEY="test-secret", FIELDSVC_LOG_LEVEL="WARNING", **extra)
    return env


def _gunicorn(env, port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def _post(url: str, body: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_the_token_limit_is_exact_across_four_workers_with_redis(app, tmp_path):
    redis_or_skip()
    username = f"ops-{secrets.token_hex(4)}"
    make_user(app, "dispatcher", username=username, password="right-password")
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    server = _gunicorn(_env(app, RATELIMIT_STORAGE_URI=REDIS_URL,
                            RATELIMIT_KEY_PREFIX=f"fieldsvc-test-{secrets.token_hex(4)}",
                            FIELDSVC_TOKEN_RATE_LIMIT="10/minute",
                            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)),
                       port, tmp_path / "gunicorn.log")
    try:
        wait_for_port(port, server, seconds=90)
        base = f"http://127.0.0.1:{port}"
        # The master listens before its workers have loaded the app: send requests at once
        # until each of the four has answered (its metric files appear with its first one).
        deadline = time.monotonic() + 90
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len({p.stem.rsplit("_", 1)[-1] for p in metrics_dir.glob("*.db")}) < 4:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                list(pool.map(lambda _: _get(f"{base}/healthz"), range(8)))
        # All at once, so that every worker takes some of them.
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = sorted(pool.map(
                lambda _: _post(f"{base}/api/v1/auth/token",
                                {"username": username, "password": "right-password"}),
                range(16)))
        assert statuses == [200] * 10 + [429] * 6, (statuses,
                                                    (tmp_path / "gunicorn.log").read_text())
        # Every worker writes its own samples; /metrics adds them up.
        page = _get(f"{base}/metrics")
        for status, count in (("200", 10), ("429", 6)):
            assert metric(page, "fieldsvc_http_requests_total", endpoint="auth.issue_token",
                          method="POST", status=status) == count
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_four_workers_on_memory_limits_do_not_start(app, tmp_path):
    log = tmp_path / "gunicorn.log"
    server = _gunicorn(_env(app), free_port(), log)
    try:
        assert server.wait(timeout=60) != 0
    finally:
        if server.poll() is None:
            server.kill()
    assert "FIELDSVC_RATELIMIT_PER_PROCESS=1" in log.read_text()


def test_workers_freeze_their_start_up_heap_out_of_garbage_collection():
    """Both ways of serving (gunicorn with this checkout's settings, and the one-process
    server of `fieldsvc serve`/`demo`) call the hook that freezes a worker's start-up heap,
    so a full collection inside a request no longer walks the whole app (about 0.1 s;
    benchmarks/gc_pause.py)."""
    import gc

    from gunicorn.config import Config

    from fieldsvc.cli.support import embedded_server
    from fieldsvc.heap import post_worker_init

    cfg = Config()
    for name, value in vars(__import__("fieldsvc.gunicorn_conf",
                                       fromlist=["post_worker_init"])).items():
        if name in cfg.settings:
            cfg.set(name, value)
    assert cfg.post_worker_init is post_worker_init
    assert embedded_server(object(), "127.0.0.1", 1).cfg.post_worker_init is post_worker_init
    try:
        post_worker_init(None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
