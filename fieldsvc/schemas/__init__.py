"""marshmallow schemas: the API contract (input whitelists and output shapes)."""
