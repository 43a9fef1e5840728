"""/api/mobile/v1 lives in the mobile_api package; this module only registers it."""

from mobile_api.views import blueprints

__all__ = ["blueprints"]
