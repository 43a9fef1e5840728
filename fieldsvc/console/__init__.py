"""The web console: sign in and out, the navigation shell, and the contact-center,
ticket and list pages (views/). `init_console(app)` sets up languages and the shell;
fieldsvc/blueprints.py registers the pages.

Pages are server-rendered; each one says which (resource, action) of the access policy
(fieldsvc.auth.policy) it needs, so the console and the API refuse the same things.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from fieldsvc.auth import policy, tokens
from fieldsvc.auth.decorators import login_required
from fieldsvc.auth.login import BadCredentials, authenticate, check_password
from fieldsvc.auth.session import start
from fieldsvc.console import i18n
from fieldsvc.console.forms import ConsoleForm
from fieldsvc.console.i18n import gettext as _
from fieldsvc.extensions import db
from fieldsvc.schemas.users import MAX_PASSWORD_LENGTH
from fieldsvc.services.users import MIN_PASSWORD_LENGTH, change_password

bp = Blueprint("console", __name__)

# The navigation: (endpoint, label, resource the page reads, roles it is meant for). Every
# endpoint must be registered (a test follows each link); a link shows when the role is one
# of those listed and the policy lets the role read the resource.
NAVIGATION: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    ("console_dispatch.board", "Dispatch board", "work-orders",
     frozenset({"admin", "dispatcher"})),
    ("console_dispatch.map_view", "Map", "work-orders", frozenset({"admin", "dispatcher"})),
    ("console.work_orders", "Work orders", "work-orders",
     frozenset({"admin", "dispatcher", "manager"})),
    ("console.technicians", "Technicians", "technicians",
     frozenset({"admin", "dispatcher", "manager"})),
    ("console.customers", "Customers", "customers",
     frozenset({"admin", "agent", "dispatcher", "manager"})),
    ("console.tickets", "Tickets", "tickets", frozenset({"admin", "agent", "dispatcher"})),
    ("console.callbacks", "Call-backs", "interactions", frozenset({"admin", "agent"})),
    ("console.assets", "Assets", "assets", frozenset({"admin", "agent", "dispatcher"})),
    ("console.stock", "Parts and stock", "stock-levels", frozenset({"admin", "dispatcher"})),
    ("console_reports.kpis", "KPIs", "reports", frozenset({"admin", "manager"})),
    ("console_reports.voice_of_customer", "Voice of the customer", "reports",
     frozenset({"admin", "manager"})),
    ("console.pm_plans", "PM plans", "pm-plans", frozenset({"admin", "manager"})),
    ("console.campaigns", "Campaigns", "recall-campaigns",
     frozenset({"admin", "manager", "agent"})),
    ("portal.home", "Dealership portal", "dealerships", frozenset({"dealership"})),
)


def navigation_for(role: str) -> list[tuple[str, str]]:
    """The (url, label) links of the shell for a role; an unregistered endpoint raises."""
    return [(url_for(endpoint), _(label)) for endpoint, label, resource, roles in NAVIGATION
            if role in roles and policy.allowed(role, resource, policy.READ)]


class LoginForm(ConsoleForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LogoutForm(ConsoleForm):
    pass


class PasswordForm(ConsoleForm):
    current_password = PasswordField("Current password",
                                     validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)])
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", message="The two new passwords differ.")])
    stay_signed_in = BooleanField("Stay signed in here", default=True)


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
            error, status = _(exc.detail), 401
        else:
            console_user = start(user)
            lang = session.get(i18n.SESSION_KEY)
            session.clear()  # no session fixation: a fresh session after sign-in
            if lang:
                session[i18n.SESSION_KEY] = lang  # the language chosen before signing in
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
    lang = session.get(i18n.SESSION_KEY)
    logout_user()
    session.clear()
    if lang:
        session[i18n.SESSION_KEY] = lang
    return redirect(url_for("console.login"))


@bp.route("/console/password", methods=["GET", "POST"])
@login_required
def change_own_password():
    """A new password ends every other console session and API token of the account (and
    this session too unless it stays signed in)."""
    form = PasswordForm()
    error = None
    status = 200
    if form.validate_on_submit():
        user = current_user.user
        try:
            check_password(db.session, user.username, form.current_password.data, "console",
                           action="password-check")
        except BadCredentials:
            error, status = _("Wrong password, or the account is locked after too many "
                              "wrong ones."), 422
        else:
            user = db.session.merge(user)
            keep = current_user.token.id if form.stay_signed_in.data else None
            ended = change_password(db.session, user, form.new_password.data,
                                    keep_token_id=keep)
            if keep is None:
                logout_user()
                session.clear()
                return redirect(url_for("console.login"))
            flash(_("Password changed; %(count)s other sessions and tokens ended.",
                    count=ended))
            return redirect(url_for("console.home"))
    elif request.method == "POST":
        status = 422
    return render_template("console/password.html", form=form, error=error), status


@bp.get("/console")
@login_required
def home():
    return render_template("console/home.html", user=current_user.user,
                           logout_form=LogoutForm())


def _shell_context():
    if not current_user or not current_user.is_authenticated:
        return {"nav_links": []}
    return {"nav_links": navigation_for(current_user.user.role.value)}


def init_console(app: Flask) -> None:
    """Languages and the navigation shell; fieldsvc/blueprints.py registers the pages."""
    i18n.init_app(app)
    app.context_processor(_shell_context)
