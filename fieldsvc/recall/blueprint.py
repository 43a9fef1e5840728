"""The whole HTTP surface of recalls, one line per route.

Each line is (methods, rule under the blueprint's prefix, endpoint, view). The views are in
`api.py` (REST, JSON) and `portal.py` (the dealership's pages); they only parse, call a rule
of `services`/`booking`/`allocation`/`ics`, and answer. A REST view is a MethodView that
declares its methods itself, so a line whose methods differ from its view's fails at import.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from fieldsvc.api.crud import register_crud
from fieldsvc.recall import api, portal

Route = tuple[str, str, str, Any]


def add_routes(blp: Blueprint, routes: list[Route]) -> None:
    """Add each (methods, rule, endpoint, view) to `blp`."""
    for methods, rule, endpoint, view in routes:
        wanted = set(methods.split())
        if isinstance(view, type):
            if set(view.methods or ()) != wanted:
                raise RuntimeError(f"{endpoint}: the route lists {sorted(wanted)}, "
                                   f"the view answers {sorted(view.methods or ())}")
            blp.add_url_rule(rule, endpoint, view)
        else:
            blp.add_url_rule(rule, endpoint, view, methods=sorted(wanted))


# /api/v1/recall-campaigns ----------------------------------------------------------------
# "": GET list, POST create; "/<int:ident>": GET, PATCH, DELETE (api.campaigns' actions)
register_crud(api.campaigns_blp, api.campaigns)
add_routes(api.campaigns_blp, [
    ("GET POST", "/<int:ident>/vins", "CampaignVins", api.CampaignVins),
    ("POST", "/<int:ident>/allocate", "CampaignAllocate", api.CampaignAllocate),
    ("GET", "/<int:ident>/progress", "CampaignProgress", api.CampaignProgress),
])

# /api/v1/dealerships ---------------------------------------------------------------------
# "": GET list, POST create; "/<int:ident>": GET, PATCH, DELETE (api.dealerships' actions)
register_crud(api.dealerships_blp, api.dealerships)
add_routes(api.dealerships_blp, [
    ("GET POST", "/<int:ident>/holidays", "DealershipHolidays", api.DealershipHolidays),
    ("DELETE", "/<int:ident>/holidays/<int:holiday_id>", "DealershipHolidayItem",
     api.DealershipHolidayItem),
    ("GET", "/<int:ident>/capacity", "DealershipCapacity", api.DealershipCapacity),
    ("PUT", "/<int:ident>/capacity/<day>", "DealershipCapacityDay",
     api.DealershipCapacityDay),
])

# /api/v1/recall-appointments -------------------------------------------------------------
# "": GET list, POST book; "/<int:ident>": GET (api.appointments' actions)
register_crud(api.appointments_blp, api.appointments)
add_routes(api.appointments_blp, [
    ("POST", "/<int:ident>/book", "appointment_accept", api.AcceptAppointment),
    ("POST", "/<int:ident>/reschedule", "appointment_reschedule", api.RescheduleAppointment),
    ("POST", "/<int:ident>/cancel", "appointment_cancel", api.CancelAppointment),
    ("POST", "/<int:ident>/complete", "appointment_complete", api.CompleteAppointment),
    ("POST", "/<int:ident>/no-show", "appointment_no_show", api.NoShowAppointment),
    ("POST", "/<int:ident>/reinvite", "appointment_reinvite", api.ReinviteAppointment),
    ("GET", "/<int:ident>/ics", "AppointmentIcs", api.AppointmentIcs),
])

# /api/v1/recalls -------------------------------------------------------------------------
add_routes(api.recalls_blp, [
    ("GET", "/lookup", "RecallLookup", api.RecallLookup),
])

# /portal: the dealership portal (role dealership, console sign-in) -----------------------
add_routes(portal.bp, [
    ("GET", "", "home", portal.home),
    ("POST", "/appointments", "book", portal.book),
    ("POST", "/capacity", "set_capacity", portal.set_capacity),
    ("POST", "/appointments/<int:ident>/reschedule", "reschedule", portal.reschedule),
    ("POST", "/appointments/<int:ident>/cancel", "cancel", portal.cancel),
    ("POST", "/appointments/<int:ident>/complete", "complete", portal.complete),
    ("POST", "/appointments/<int:ident>/no-show", "no_show", portal.no_show),
    ("GET", "/campaigns/<int:ident>/progress", "progress", portal.progress),
])

# What fieldsvc.blueprints registers: the REST blueprints on the API (OpenAPI document),
# the portal on the app.
api_blueprints = [api.campaigns_blp, api.dealerships_blp, api.appointments_blp,
                  api.recalls_blp]
web_blueprints = [portal.bp]
