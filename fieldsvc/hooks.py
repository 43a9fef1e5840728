"""Extension points that a plugin fills: fieldsvc asks through them and never imports the
plugin or names its tables.

Each app has its own `Hooks` (in `app.extensions`), filled by the plugins' `register(app)`
(fieldsvc/blueprints.py); a view passes `hooks_of(current_app)` to the service, so services
stay free of Flask. An empty hook contributes nothing: the customer screen shows no RMAs and
the recurring faults count none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

# (session, customer_id, limit) -> the customer's RMAs, newest first, at most `limit`; each
# row has number, type, status and entitlement.
CustomerRmas = Callable[[Session, int, int], list[Any]]
# (session, start_at, end_at) -> (product_id, failure code, count) of the RMAs opened in
# [start_at, end_at), per product model and code.
RmaFaults = Callable[[Session, datetime, datetime], Iterable[tuple[int, str, int]]]


@dataclass
class Hooks:
    customer_rmas: CustomerRmas | None = None  # the customer screen's RMA section
    rma_faults: RmaFaults | None = None  # the `rmas` column of the recurring faults report

    def register(self, *, customer_rmas: CustomerRmas | None = None,
                 rma_faults: RmaFaults | None = None) -> None:
        """Fill hooks; a hook is filled once (a second plugin for the same one is a bug)."""
        for name, func in (("customer_rmas", customer_rmas), ("rma_faults", rma_faults)):
            if func is None:
                continue
            if getattr(self, name) is not None:
                raise RuntimeError(f"The hook {name} is already registered.")
            setattr(self, name, func)


def hooks_of(app: Flask) -> Hooks:
    """The app's hooks (created empty on first use)."""
    return app.extensions.setdefault("fieldsvc_hooks", Hooks())
