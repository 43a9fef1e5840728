"""Console clients signed in through the real login form (shared with tests/console)."""

from tests.console.conftest import csrf_from, page_as  # noqa: F401 - fixtures and helper
