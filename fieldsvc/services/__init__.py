"""Domain services: the rules. They take the session and the acting user, flush, never commit."""
