"""REST resource blueprints: every module here exposes a `blueprints` list, and
fieldsvc/blueprints.py lists the modules (adding a resource means adding it there too)."""
