"""Optimizer tests need no app: plain objects in, plans out."""

import pytest

from scheduler import SolveParams


@pytest.fixture
def quick() -> SolveParams:
    """Short searches: the instances here are tiny."""
    return SolveParams(time_limit=0.5)
