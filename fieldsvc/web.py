"""Health check and the API documentation page."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from sqlalchemy import text

from fieldsvc.extensions import db
from fieldsvc.problems import Problem

bp = Blueprint("web", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # the database does not answer
        current_app.logger.warning("health check failed: %s", exc)
        raise Problem("The database does not answer.", status=503, title="Unavailable",
                      slug="unavailable") from exc
    return jsonify(status="ok")


@bp.get("/api/docs")
def api_docs():
    spec = current_app.extensions["fieldsvc_api"].spec.to_dict()
    return render_template("api_docs.html", spec=spec)


@bp.get("/favicon.ico")
def favicon():
    """Browsers (and pages that are not HTML) ask for /favicon.ico: the same icon every
    page links, so no request for it ends in a 404."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
def index():
    if "console.home" in current_app.view_functions:
        return redirect(url_for("console.home"))
    return redirect(url_for("web.api_docs"))

