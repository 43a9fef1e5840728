"""WSGI entry point: `gunicorn wsgi:app` (gunicorn.conf.py next to it is read too)."""

from fieldsvc import create_app
from fieldsvc.ops.logs import setup_for

app = create_app()
setup_for(app)
