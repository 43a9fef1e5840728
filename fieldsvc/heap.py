"""The worker's start-up heap, frozen out of garbage collection once the app is loaded.

Modules, the app and SQLAlchemy's mappers live as long as the process. Without freezing
them, every full (generation 2) collection walks all of them inside whichever request
triggered it: about 0.1 s on a small box (benchmarks/gc_pause.py). gunicorn calls
`post_worker_init` in each worker after loading the app (fieldsvc.gunicorn_conf, and the
embedded server of `fieldsvc serve` and `fieldsvc demo`).
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once, then leave everything that exists now out of later collections."""
    gc.collect()
    gc.freeze()


def post_worker_init(worker) -> None:
    """gunicorn hook: the worker has loaded the app."""
    freeze_startup_heap()
