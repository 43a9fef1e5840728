"""VIN model-year codes for demo data; the format and the check digit are fieldsvc.vin's."""

# Model-year letters (position 10), 2010 to 2030.
YEAR_CODES = dict(zip(range(2010, 2031), "ABCDEFGHJKLMNPRSTVWXY", strict=True))
