"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest

from ridgeline.store.database import Store


@pytest.fixture
def store(any_store: Store) -> Store:
    """A fresh store, once on SQLite and once on PostgreSQL (see `any_store`)."""
    return any_store
