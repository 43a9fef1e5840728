"""Demo data: a deterministic after-sales network in Tehran, Karaj, Isfahan and Shiraz.

`data` holds the fixed tables (places, names, catalog), `generator` the logic that
combines them with a seeded random generator, `vin` the ISO 3779 check digit.
"""

from fieldsvc.demo.generator import DEFAULT_SEED, Summary, existing_data, seed_demo

__all__ = ["DEFAULT_SEED", "Summary", "existing_data", "seed_demo"]
