"""The flush retries a statement PostgreSQL aborted to break a deadlock, and nothing else.

A live-server request still being answered when a browser test ends can deadlock the flush's
TRUNCATE; the retry waits on the lock instead of failing the next test's set-up. (That the
flush itself empties every table is tested with the append-only triggers.)
"""

from __future__ import annotations

import pytest
from django.db import OperationalError

from milepost.pipeline.management.commands.flush import (
    DEADLOCK_ATTEMPTS,
    DEADLOCK_SQLSTATE,
    is_deadlock,
    retry_deadlocks,
)


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _operational(sqlstate: str) -> OperationalError:
    error = OperationalError(f"driver said {sqlstate}")
    error.__cause__ = _DriverError(sqlstate)
    return error


class _Statement:
    """Raises the given errors in turn, then succeeds; counts its calls."""

    def __init__(self, *failures: OperationalError) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


def test_only_the_deadlock_sqlstate_counts_as_a_deadlock():
    assert is_deadlock(_operational(DEADLOCK_SQLSTATE))
    assert not is_deadlock(_operational("57014"))  # query_canceled
    assert not is_deadlock(OperationalError("no driver error behind it"))


def test_a_deadlocked_statement_is_run_again():
    statement = _Statement(_operational(DEADLOCK_SQLSTATE), _operational(DEADLOCK_SQLSTATE))
    retry_deadlocks(statement)
    assert statement.calls == 3


def test_other_errors_are_raised_at_once():
    statement = _Statement(_operational("57014"))
    with pytest.raises(OperationalError, match="57014"):
        retry_deadlocks(statement)
    assert statement.calls == 1


def test_a_deadlock_that_keeps_coming_back_is_raised():
    statement = _Statement(*[_operational(DEADLOCK_SQLSTATE)] * DEADLOCK_ATTEMPTS)
    with pytest.raises(OperationalError, match=DEADLOCK_SQLSTATE):
        retry_deadlocks(statement)
    assert statement.calls == DEADLOCK_ATTEMPTS
