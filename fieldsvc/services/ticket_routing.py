"""Route a ticket to the agent with the right skill.

The rule, in order:

1. Candidates are active users of the agent role whose `agent_skills` (comma-separated
   codes, compared case-insensitively) contain the ticket's topic or its category
   (e.g. an agent with "complaint,printer" takes complaints and printer topics).
   Agents sharing a skill form that skill's team.
2. Among them, the one with the fewest open tickets (open or in progress) assigned;
   ties go to the lowest user id, so the choice is stable and testable.
3. No candidate: the ticket stays unassigned (in the team queue) and the caller is told.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import Ticket, User
from fieldsvc.models.enums import Role, TicketStatus
from fieldsvc.problems import InvalidInput
from fieldsvc.services import tickets as ticket_service

OPEN = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)


def skills_of(user: User) -> set[str]:
    return {s.strip().lower() for s in (user.agent_skills or "").split(",") if s.strip()}


def wanted_skills(ticket: Ticket) -> set[str]:
    wanted = {ticket.category.value}
    if ticket.topic and ticket.topic.strip():
        wanted.add(ticket.topic.strip().lower())
    return wanted


def open_load(session: Session, user_ids) -> dict[int, int]:
    """Open tickets assigned to each of `user_ids` (absent ids have none)."""
    rows = session.execute(
        select(Ticket.assigned_user_id, func.count(Ticket.id))
        .where(Ticket.assigned_user_id.in_(list(user_ids)), Ticket.status.in_(OPEN))
        .group_by(Ticket.assigned_user_id))
    return {uid: count for uid, count in rows}


def candidates(session: Session, ticket: Ticket) -> list[tuple[User, int]]:
    """Agents who have a skill the ticket needs, with their open load, best first."""
    wanted = wanted_skills(ticket)
    agents = [u for u in session.scalars(select(User).where(User.role == Role.AGENT,
                                                           User.active.is_(True)))
              if skills_of(u) & wanted]
    load = open_load(session, [a.id for a in agents]) if agents else {}
    return sorted(((a, load.get(a.id, 0)) for a in agents), key=lambda p: (p[1], p[0].id))


def choose_agent(session: Session, ticket: Ticket) -> User | None:
    found = candidates(session, ticket)
    return found[0][0] if found else None


def assign(session: Session, ticket: Ticket, actor: Actor,
           user_id: int | None = None) -> User | None:
    """Assign to `user_id` (an active agent) or, without one, by the routing rule."""
    if user_id is None:
        user = choose_agent(session, ticket)
        if user is None:
            return None
    else:
        user = session.get(User, user_id)
        if user is None or user.role != Role.AGENT or not user.active:
            raise InvalidInput({"assigned_user_id": ["Choose an active agent."]})
    ticket_service.update_ticket(session, ticket, {"assigned_user_id": user.id}, actor)
    session.flush()
    return user
