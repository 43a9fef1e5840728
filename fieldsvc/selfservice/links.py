"""Signed, expiring self-service links: made for notifications, checked on every request.

The URL holds a random id (`jti`) signed with the app's secret (itsdangerous, its own
salt), nothing derived from a database id, so no link can be guessed or edited into
another one. The row behind it says what the link opens and until when; a link can be
revoked. Every form drawn from a link carries the link's action count (`steps`) and an
action goes through only while that count is still current: a form sent twice, or a
request captured and replayed, is refused.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from fieldsvc.models import Asset, WorkOrder, utcnow
from fieldsvc.problems import Problem
from fieldsvc.selfservice.models import SelfServiceLink
from fieldsvc.vin import normalize_vin

SALT = "fieldsvc.self-service.link"
TRACK, RECALL = "track", "recall"


class LinkRefused(Problem):
    """A link that does not open anything: tampered, unknown, expired or revoked."""

    status, title, slug = 403, "Link not valid", "link-invalid"


class LinkExpired(LinkRefused):
    status, title, slug = 410, "Link expired", "link-expired"


class StaleForm(Problem):
    status, title, slug = 409, "Form already sent", "form-replayed"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _ttl(purpose: str) -> timedelta:
    key = "SELF_SERVICE_TRACK_LINK_HOURS" if purpose == TRACK else "SELF_SERVICE_RECALL_LINK_DAYS"
    value = current_app.config[key]
    return timedelta(hours=value) if purpose == TRACK else timedelta(days=value)


def issue(
    session: Session,
    purpose: str,
    *,
    work_order_id: int | None = None,
    vin: str | None = None,
    campaign_id: int | None = None,
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """Record a new link and return its token (the part of the URL after the prefix)."""
    now = now or utcnow()
    jti = secrets.token_urlsafe(18)
    session.add(
        SelfServiceLink(
            jti=jti,
            purpose=purpose,
            work_order_id=work_order_id,
            vin=vin,
            campaign_id=campaign_id,
            issued_at=now,
            expires_at=now + (ttl or _ttl(purpose)),
        )
    )
    session.flush()
    return _serializer().dumps({"j": jti})


def make_track_link(
    session: Session, work_order: WorkOrder, *, ttl: timedelta | None = None
) -> str:
    """The absolute URL where the customer follows `work_order` (for a notification)."""
    token = issue(session, TRACK, work_order_id=work_order.id, ttl=ttl)
    return absolute_url("selfservice.track", token=token)


def make_recall_link(
    session: Session, vin: str, campaign_id: int | None = None, *, ttl: timedelta | None = None
) -> str:
    """The absolute URL of a recall invitation: the VIN's recalls, ready to book."""
    normal = normalize_vin(vin)
    if normal is None:
        raise ValueError(f"not a VIN: {vin!r}")
    token = issue(session, RECALL, vin=normal, campaign_id=campaign_id, ttl=ttl)
    return absolute_url("selfservice.recall", token=token)


def can_make_links() -> bool:
    """Whether absolute links can be made here: a public base URL is configured, or a
    request tells the host (a background job without PUBLIC_URL cannot know it)."""
    return bool(current_app.config.get("PUBLIC_URL")) or has_request_context()


def absolute_url(endpoint: str, **values: Any) -> str:
    """The customer-facing URL of `endpoint`: under PUBLIC_URL when set (what customers
    reach, whichever process makes the link), else the current request's host."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        path = current_app.url_map.bind("localhost").build(endpoint, values)
        return base.rstrip("/") + path
    return url_for(endpoint, _external=True, **values)


def vin_of(link: SelfServiceLink) -> str:
    """The VIN a recall link opens (the table's CHECK guarantees one)."""
    if link.vin is None:
        raise LinkRefused("This link is not valid.")
    return link.vin


def resolve(
    session: Session, token: str, purpose: str, now: datetime | None = None
) -> SelfServiceLink:
    """The link behind `token`, or LinkRefused / LinkExpired."""
    now = now or utcnow()
    longest = max(_ttl(TRACK), _ttl(RECALL))
    try:
        payload, signed_at = _serializer().loads(
            token, max_age=int(longest.total_seconds()), return_timestamp=True
        )
    except SignatureExpired:
        raise LinkExpired("This link has expired. Ask for a new one.") from None
    except BadSignature:
        raise LinkRefused(
            "This link is not valid. Check that it was copied whole, or ask for a new one."
        ) from None
    jti = payload.get("j") if isinstance(payload, dict) else None
    link = (
        session.scalar(select(SelfServiceLink).where(SelfServiceLink.jti == jti))
        if isinstance(jti, str)
        else None
    )
    if link is None and isinstance(jti, str) and _purged(signed_at, now):
        raise LinkExpired("This link has expired. Ask for a new one.")
    if link is None or link.purpose != purpose:
        raise LinkRefused(
            "This link is not valid. Check that it was copied whole, or ask for a new one."
        )
    if link.revoked_at is not None:
        raise LinkRefused("This link was withdrawn. Use the latest link you were sent.")
    if link.expires_at <= now:
        raise LinkExpired("This link has expired. Ask for a new one.")
    return link


def _purged(signed_at: datetime, now: datetime) -> bool:
    """Whether a link signed at `signed_at` may be gone through retention: the retention job
    deletes a link only after it has been expired for the configured days, so a link handed
    out more recently than that never was, and one handed out earlier has simply expired."""
    days = current_app.config.get("RETENTION_DAYS", {}).get("links", 0)
    return bool(days) and signed_at < now - timedelta(days=days)


def take_step(session: Session, link: SelfServiceLink, raw_step: str | None) -> None:
    """Count one action through `link`, drawn from a form showing count `raw_step`.

    One conditional UPDATE: of two submissions of the same form only the first matches.
    """
    if raw_step is None or not raw_step.isdigit() or len(raw_step) > 9:
        raise StaleForm("This form is out of date. Reload the page and try again.")
    done = cast(
        CursorResult[Any],
        session.execute(
            update(SelfServiceLink)
            .where(
                SelfServiceLink.id == link.id,
                SelfServiceLink.steps == int(raw_step),
                SelfServiceLink.revoked_at.is_(None),
            )
            .values(steps=SelfServiceLink.steps + 1)
            .execution_options(synchronize_session=False)
        ),
    )
    if done.rowcount != 1:
        raise StaleForm("This form was sent already. The page below shows where things stand now.")
    session.expire(link, ["steps"])  # the UPDATE changed it; read again only if needed


def revoke_customer_links(session: Session, customer_id: int) -> int:
    """Withdraw every open link to a customer's visits and cars (on erasure); how many."""
    done = cast(
        CursorResult[Any],
        session.execute(
            update(SelfServiceLink)
            .where(
                SelfServiceLink.revoked_at.is_(None),
                or_(
                    SelfServiceLink.work_order_id.in_(
                        select(WorkOrder.id).where(WorkOrder.customer_id == customer_id)
                    ),
                    SelfServiceLink.vin.in_(
                        select(Asset.vin).where(Asset.customer_id == customer_id)
                    ),
                ),
            )
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        ),
    )
    return done.rowcount
