"""Customer self-service: a public, login-free area reached from signed, expiring links.

Two flows: tracking a field visit (status, the technician's first name, an ETA window, a
map drawn as SVG; confirm, reschedule into windows the insertion engine says fit, cancel)
and recall self-booking (VIN and the last digits of the phone on file, or an invitation
link; the same capacity ledger as every other booking). `links.make_track_link` and
`links.make_recall_link` make the links a notification carries.
"""
