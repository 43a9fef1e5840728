"""/api/v1/rmas lives in the rma package; this module only registers its blueprint."""

from rma.api import blueprints

__all__ = ["blueprints"]
