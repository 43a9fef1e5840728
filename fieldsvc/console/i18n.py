"""Console translations: English source strings, a Persian catalog, the locale per session.

A plain dictionary catalog rather than Flask-Babel: the console has a few hundred short
strings, no plural forms worth a .po/.mo toolchain, and a catalog in Python needs no
compile step in the build or on a closed network. Adding a language is adding a dict.

The locale is, in order: `?lang=xx` on any page (remembered in the session, so it is the
user's preference for the rest of the session and survives sign-in), the session's
choice, the browser's Accept-Language, English.
"""

from __future__ import annotations

from datetime import UTC

from flask import Flask, g, has_request_context, request, session
from markupsafe import escape

from fieldsvc.console.catalog_fa import FA
from fieldsvc.dates import jalali, local_moment, persian_day, persian_digits, zone, zone_of
from fieldsvc.selfservice.catalog_fa import FA_SELF_SERVICE

DEFAULT = "en"
CATALOGS: dict[str, dict[str, str]] = {"en": {}, "fa": {**FA, **FA_SELF_SERVICE}}
LANGUAGES = {"en": "English", "fa": "فارسی"}
RTL = frozenset({"fa", "ar", "he", "ur"})
SESSION_KEY = "lang"


def current_locale() -> str:
    chosen = session.get(SESSION_KEY)
    if chosen not in CATALOGS:
        # A page translates dozens of strings: match the browser's languages once per
        # request (the header cannot change within it).
        chosen = g.get("_browser_locale")
        if chosen is None:
            chosen = request.accept_languages.best_match(list(CATALOGS), default=DEFAULT)
            g._browser_locale = chosen
    return chosen


def gettext(message: str, **values) -> str:
    """Translate `message` into the current locale; `%(name)s` placeholders are filled."""
    text = CATALOGS.get(current_locale(), {}).get(message, message)
    return text % values if values else text


_ = gettext


def text_direction() -> str:
    return "rtl" if current_locale() in RTL else "ltr"


def label(value) -> str:
    """An enum value (e.g. 'in_progress') as words in the current language."""
    raw = getattr(value, "value", value)
    if raw is None:
        return ""
    return gettext(str(raw).replace("_", " "))


class LazyLabel:
    """An enum value as words, translated when rendered (choices of a form class are built
    at import, before any request has a language)."""

    __slots__ = ("raw",)

    def __init__(self, raw: str) -> None:
        self.raw = raw

    def __str__(self) -> str:
        return label(self.raw) if has_request_context() else self.raw.replace("_", " ")

    def __html__(self) -> str:
        return str(escape(str(self)))


FULL_MOMENT = "%Y-%m-%d %H:%M"


def local_time(moment, zone_name: str | None = None, fmt: str = FULL_MOMENT) -> str:
    """The template filter: `moment` in `zone_name`'s clock, labelled with that zone (its
    name translated when the catalog has it, e.g. Asia/Tehran reads تهران in Persian)."""
    name = zone_of(zone_name)
    if moment is not None and fmt == FULL_MOMENT and current_locale() == "fa":
        # A Persian reader reads the Jalali day and the time in Persian digits; the
        # Gregorian date stays beside it (as in `day_label`).
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored as UTC
        local = aware.astimezone(zone(name))
        jy, jm, jd = jalali(local.date())
        spoken = persian_digits(f"{jy}/{jm:02d}/{jd:02d} {local:%H:%M}")
        return f"{spoken} ({local.date().isoformat()}, {gettext(name)})"
    return local_moment(moment, name, fmt, zone_label=gettext(name))


def day_label(day, fmt: str = "%a %d %b %Y") -> str:
    """The template filter for a calendar day people read: in Persian the Jalali date in
    Persian digits with the Gregorian ISO date beside it, else `fmt` (English)."""
    if day is None:
        return "—"
    return persian_day(day) if current_locale() == "fa" else day.strftime(fmt)


def local_day(moment, zone_name: str | None = None, fmt: str = "%Y-%m-%d") -> str:
    """The template filter for the calendar day of a moment (e.g. when a ticket was
    created): the day in `zone_name`'s clock, never the UTC date, shown as `day_label`."""
    if moment is None:
        return "—"
    return day_label(moment.astimezone(zone(zone_of(zone_name))).date(), fmt)


def init_app(app: Flask) -> None:
    @app.before_request
    def _choose_language() -> None:
        lang = request.args.get("lang")
        if lang in CATALOGS and request.endpoint != "static":
            session[SESSION_KEY] = lang

    # Globals (not only context) so that imported macros can translate too.
    app.jinja_env.globals.update(_=gettext, label=label, languages=LANGUAGES)
    # The one way a template shows a moment: in the zone of the place it concerns, labelled.
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["day_label"] = day_label
    app.jinja_env.filters["local_day"] = local_day

    @app.context_processor
    def _i18n():
        if not has_request_context():
            return {}
        return {"locale": current_locale(), "text_dir": text_direction()}
