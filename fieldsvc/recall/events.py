"""The recall events: an appointment's booking, move, cancellation and no-show, and the
invitations an allocation issues; one aggregate per appointment, so they arrive in order."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fieldsvc.events.outbox import emit
from fieldsvc.recall.models import RecallAppointment

AGGREGATE = "recall_appointment"


def data_of(appointment: RecallAppointment) -> dict[str, Any]:
    return {
        "appointment_id": appointment.id,
        "campaign_id": appointment.campaign_id,
        "vin": appointment.vin,
        "status": appointment.status,
        "customer_id": appointment.customer_id,
        "asset_id": appointment.asset_id,
        "dealership_id": appointment.dealership_id,
        "day": appointment.day,
        "slot": appointment.slot.isoformat() if appointment.slot else None,
    }


def appointment_event(
    session: Session, event_type: str, appointment: RecallAppointment, **extra: Any
) -> None:
    """Emit `recall_appointment.<event>` or `recall_invitation.issued` for `appointment`."""
    emit(session, event_type, AGGREGATE, appointment.id, {**data_of(appointment), **extra})
