"""Dispatching: turn the database into optimizer input, run the optimizer, publish plans."""
