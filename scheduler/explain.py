"""Reasons, in a dispatcher's words, why a job is not in the plan.

The rules of ``scheduler/constraints.py`` are asked in order which technician-days could take
the job at all; the first rule that leaves none gives the reason. A job every rule admits
somewhere lacks parts, or the capacity went to other work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constraints import RULES, capacity_exhausted, eligible, parts_available, parts_reason
from .instance import Instance
from .model import Job, Unassigned

if TYPE_CHECKING:
    from .model import Plan

__all__ = ["parts_reason", "reason"]


def reason(inst: Instance, job: Job, plan: Plan | None = None) -> Unassigned:
    """Explain why ``job`` is unassigned (from the most to the least fundamental cause)."""
    cands = list(inst.vehicles)
    for rule in RULES:
        if rule.admits is None:
            continue
        kept = [v for v in cands if rule.admits(inst, job, v)]
        if not kept:
            why = rule.why(inst, job, cands)
            if why is not None:
                return why
        cands = kept
    allowed = eligible(inst, job, inst.vehicles)
    if not parts_available(inst, job, allowed):
        return parts_reason(inst, job)
    return capacity_exhausted(allowed)
