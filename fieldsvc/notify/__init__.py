"""Customer notifications: e-mail over SMTP and SMS through an HTTP provider, in the
customer's language, outside quiet hours, only with consent.

A domain change that should reach the customer (technician en route, an appointment booked,
moved or cancelled, a recall invitation, an advance-exchange return due soon) queues a
`Notification` row in the same transaction as the change (`queue`), so a committed change is
never without its message and a rolled-back one has none. `send_due` (run by the scheduler
process, `fieldsvc notify send`, or the demo) sends what is due, logs each message on the
customer's single screen as an outbound interaction, and retries failures with backoff.

    models.py    the notification row (one per message and channel)
    messages.py  the texts, Persian and English
    channels.py  SMTP and the SMS provider interface with its HTTP provider
    service.py   queueing (consent, quiet hours, de-duplication) and sending
"""
