"""REST resource blueprints: every module here exposes a `blueprints` list.

Modules are discovered by name, so adding a resource means adding a module, nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil


def blueprints() -> list:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(module.blueprints)
    from fieldsvc.recall.blueprint import api_blueprints as recall_blueprints

    found.extend(recall_blueprints)
    return found
