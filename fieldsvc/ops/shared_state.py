"""What several app servers (or workers) must share, checked before they start."""

from __future__ import annotations

import os


class SharedStateError(SystemExit):
    """Refuses to start; SystemExit so gunicorn's master stops with the message."""


def check_rate_limit_storage(workers: int, env=None) -> None:
    """Several workers on `memory://` would each count the limits (4 workers: 4 x the
    limit); refuse unless FIELDSVC_RATELIMIT_PER_PROCESS=1 says that is meant."""
    from fieldsvc.config import from_environment

    settings = from_environment(os.getcwd()) if env is None else env
    storage = str(settings.get("RATELIMIT_STORAGE_URI") or "memory://")
    if workers <= 1 or not storage.startswith("memory://"):
        return
    enabled = settings.get("RATELIMIT_ENABLED", True)
    if settings.get("RATELIMIT_PER_PROCESS_OK") or not enabled:
        return
    raise SharedStateError(
        f"fieldsvc: {workers} workers would each keep their own rate-limit counters "
        "(RATELIMIT_STORAGE_URI=memory://), letting through up to "
        f"{workers} x the limits. Set REDIS_URL (or RATELIMIT_STORAGE_URI=redis://...) to "
        "share them, or FIELDSVC_RATELIMIT_PER_PROCESS=1 to accept per-process limits.")
