"""WSGI entry point: `gunicorn wsgi:app`."""

from fieldsvc import create_app

app = create_app()
