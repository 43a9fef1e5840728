"""Recall campaigns: everything about recalls in one package.

`models` (tables), `schemas` (the API contract), `services` (campaigns, dealerships, VIN
check, capacity ledger and calendar, progress), `booking` (appointments: book, reschedule,
cancel, day of service), `allocation` (invited owners to dealerships and days; the solver
itself is the Flask-free `scheduler.recall`), `ics` (calendar files), `api` (REST resources),
`portal` (the dealership portal) and `cli` (`fieldsvc recall ...`).

This module imports nothing, so any of its modules can be imported first.
"""
