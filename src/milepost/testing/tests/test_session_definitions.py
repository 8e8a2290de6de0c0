"""The shipped definitions the session loads are there for every test, flush or not."""

from __future__ import annotations

import pytest

from milepost.process.models import MethodologyPack, SalesProcess


@pytest.mark.django_db
def test_a_test_that_asks_for_nothing_finds_the_shipped_definitions():
    assert SalesProcess.objects.filter(key="new_business").exists()
    assert MethodologyPack.objects.filter(key="meddpicc").exists()


@pytest.mark.django_db(transaction=True)
def test_a_committing_test_ends_with_a_flush():
    SalesProcess.objects.all().delete()  # committed: only the flush after this test undoes it
    assert not SalesProcess.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_next_test_after_a_flush_still_finds_them():
    """Runs after the test above (pytest-django keeps committing tests in file order)."""
    assert SalesProcess.objects.filter(key="new_business").exists()
    assert MethodologyPack.objects.filter(key="meddpicc").exists()
