"""RMAs live in the rma package; this module only registers its blueprints:
/api/v1/rmas (with transitions and goodwill), /api/v1/work-orders/{id}/rmas and
/api/v1/reports/returns."""

from rma.api import blueprints

__all__ = ["blueprints"]
