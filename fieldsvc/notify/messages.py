"""The texts of customer notifications, in Persian and English.

Each kind has a subject (e-mail) and a body (e-mail and SMS; kept short enough for a few SMS
parts). Values are filled with `str.format`; in Persian, digits are written as Persian digits
because that is how Persian readers expect times and dates in a message.
"""

from __future__ import annotations

from fieldsvc.dates import persian_digits

LANGUAGES = ("fa", "en")

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "en_route": {
        "en": (
            "Your technician is on the way",
            "Hello {name}, {technician} is on the way for work order {number} and should "
            "arrive between {eta_from} and {eta_to} ({zone}).{link}",
        ),
        "fa": (
            "تکنسین شما در راه است",
            "{name} گرامی، {technician} برای دستور کار {number} در راه است و بین {eta_from} "
            "و {eta_to} ({zone}) می‌رسد.{link}",
        ),
    },
    "appointment_booked": {
        "en": (
            "Recall appointment booked",
            "Hello {name}, your vehicle {vin} is booked at {dealership} on {day} at {time} "
            "({zone}) for recall {campaign}. The calendar file is attached.{link}",
        ),
        "fa": (
            "نوبت فراخوان ثبت شد",
            "{name} گرامی، خودروی {vin} برای فراخوان {campaign} در {dealership} روز {day} "
            "ساعت {time} ({zone}) نوبت گرفت. فایل تقویم پیوست است.{link}",
        ),
    },
    "appointment_moved": {
        "en": (
            "Recall appointment moved",
            "Hello {name}, the appointment for your vehicle {vin} (recall {campaign}) is now "
            "at {dealership} on {day} at {time} ({zone}).{link}",
        ),
        "fa": (
            "نوبت فراخوان جابه‌جا شد",
            "{name} گرامی، نوبت خودروی {vin} (فراخوان {campaign}) اکنون در {dealership} روز "
            "{day} ساعت {time} ({zone}) است.{link}",
        ),
    },
    "appointment_cancelled": {
        "en": (
            "Recall appointment cancelled",
            "Hello {name}, the appointment for your vehicle {vin} (recall {campaign}) at "
            "{dealership} on {day} is cancelled.{link}",
        ),
        "fa": (
            "نوبت فراخوان لغو شد",
            "{name} گرامی، نوبت خودروی {vin} (فراخوان {campaign}) در {dealership} روز {day} "
            "لغو شد.{link}",
        ),
    },
    "recall_invitation": {
        "en": (
            "Your vehicle is part of a recall",
            "Hello {name}, your vehicle {vin} is part of recall {campaign}: {title}. "
            "{dealership} will carry out the remedy free of charge; book a day that suits "
            "you.{link}",
        ),
        "fa": (
            "خودروی شما مشمول فراخوان است",
            "{name} گرامی، خودروی {vin} مشمول فراخوان {campaign} است: {title}. "
            "{dealership} این کار را رایگان انجام می‌دهد؛ روزی را که مناسب شماست رزرو "
            "کنید.{link}",
        ),
    },
    "return_reminder": {
        "en": (
            "Please return the replaced unit",
            "Hello {name}, for RMA {number} please return the faulty unit ({serial}) by "
            "{deadline}. Without it the replacement is invoiced.{link}",
        ),
        "fa": (
            "لطفاً قطعه تعویض‌شده را بازگردانید",
            "{name} گرامی، برای RMA {number} لطفاً دستگاه معیوب ({serial}) را تا {deadline} "
            "بازگردانید. در غیر این صورت هزینه جایگزین صورت‌حساب می‌شود.{link}",
        ),
    },
}

KINDS = tuple(TEXTS)


def language_of(preferred: str | None, default: str) -> str:
    for choice in (preferred, default):
        if choice and choice.lower()[:2] in LANGUAGES:
            return choice.lower()[:2]
    return "en"


def render(kind: str, language: str, **values: object) -> tuple[str, str]:
    """(subject, body) of `kind` in `language`; a `link` value is appended on its own line."""
    subject, body = TEXTS[kind][language]
    link = values.pop("link", None)
    text = {key: ("" if value is None else str(value)) for key, value in values.items()}
    if language == "fa":
        # Digits in times, dates and numbers; codes that mix letters and digits (a VIN, a
        # serial, a recall code) are read character by character and stay as they are.
        for key, value in text.items():
            if value.replace(":", "").replace("-", "").replace("/", "").isdigit():
                text[key] = persian_digits(value)
    filled = body.format(link=f"\n{link}" if link else "", **text)
    return subject, filled
