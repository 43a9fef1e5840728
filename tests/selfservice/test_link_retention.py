"""Links expired long ago are purged by retention, and still answer "expired"."""

import time
from datetime import timedelta

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from fieldsvc.extensions import db
from fieldsvc.models.base import utcnow
from fieldsvc.selfservice import links
from fieldsvc.selfservice.models import SelfServiceLink
from scheduler import jobs


class _TwentyDaysAgo(TimestampSigner):
    """Signs as if it were 20 days ago: what an old message's link carries."""

    def get_timestamp(self) -> int:
        return int(time.time() - 20 * 86400)


def _links(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(SelfServiceLink))
        db.session.remove()
        return n


def test_old_links_are_purged_and_still_answer_expired(app, recall, customer, link_for):
    # Links kept 10 days after they expire; recall links may live 60 days, so a link handed
    # out 20 days ago still carries a valid signature when its row is gone.
    app.config["RETENTION_DAYS"] = {**app.config["RETENTION_DAYS"], "links": 10}
    app.config["SELF_SERVICE_RECALL_LINK_DAYS"] = 60
    campaign = recall.campaign()
    vin = recall.owner(campaign).vin
    # A recall link handed out 20 days ago for a week, and one handed out now.
    old_at = utcnow() - timedelta(days=20)
    with app.app_context():
        db.session.add(
            SelfServiceLink(
                jti="handed-out-long-ago",
                purpose="recall",
                vin=vin,
                issued_at=old_at,
                expires_at=old_at + timedelta(days=7),
            )
        )
        db.session.commit()
        old_token = URLSafeTimedSerializer(
            app.config["SECRET_KEY"], salt=links.SALT, signer=_TwentyDaysAgo
        ).dumps({"j": "handed-out-long-ago"})
        db.session.remove()
    fresh = link_for(vin=vin)
    assert customer.get(f"/self-service/recall/{old_token}").status_code == 410

    summary = jobs.retention(app)
    assert "1 links" in summary
    assert _links(app) == 1  # the fresh link stays
    answer = customer.get(f"/self-service/recall/{old_token}")
    assert answer.status_code == 410 and b"expired" in answer.data
    assert customer.get(fresh).status_code == 200
    # A well-signed token of today whose id was never handed out is still refused outright.
    with app.test_request_context():
        forged = links._serializer().dumps({"j": "never-handed-out"})
    assert customer.get(f"/self-service/recall/{forged}").status_code == 403
