"""Every REST resource blueprint, in the order they appear in the OpenAPI document."""

from __future__ import annotations

import importlib

MODULES = ["customers"]


def blueprints() -> list:
    found = []
    for name in MODULES:
        module = importlib.import_module(f"fieldsvc.api.resources.{name}")
        found.extend(module.blueprints)
    return found
