"""The web console: sign in, sign out and a home page (the full console is a later issue)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from fieldsvc.auth import tokens
from fieldsvc.auth.decorators import login_required
from fieldsvc.auth.login import BadCredentials, authenticate
from fieldsvc.auth.session import start
from fieldsvc.extensions import db

bp = Blueprint("console", __name__)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LogoutForm(FlaskForm):
    pass


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a signed-in user to another host."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("console.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("console.home"))
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(db.session, form.username.data, form.password.data, "console")
        except BadCredentials as exc:
            error, status = exc.detail, 401
        else:
            console_user = start(user)
            session.clear()  # no session fixation: a fresh session after sign-in
            login_user(console_user)
            return redirect(_safe_next(form.next.data))
    elif request.method == "POST":
        status = 422
    return render_template("console/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    form = LogoutForm()
    form.validate_on_submit()  # the gate has already checked the CSRF token
    tokens.revoke(db.session, current_user.token)
    logout_user()
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/console")
@login_required
def home():
    return render_template("console/home.html", user=current_user.user,
                           logout_form=LogoutForm())


def register_console(app: Flask) -> None:
    app.register_blueprint(bp)
