"""The technician app's API under /api/mobile/v1."""
