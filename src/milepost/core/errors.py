"""Domain errors raised by services; views and the API map them to 404 / 409 / 422."""


class NotFound(LookupError):
    """The row does not exist *or the user may not see it* (we never reveal which)."""


class VersionConflict(RuntimeError):
    """Someone else changed the opportunity since the caller read it (optimistic locking)."""

    def __init__(self, current_version: int, what: str = "opportunity"):
        self.current_version = current_version
        super().__init__(
            f"the {what} was changed by someone else (now version {current_version}); "
            "reload it and try again"
        )


class InvalidChange(ValueError):
    """The requested change is not allowed; ``field`` names what is wrong when known."""

    def __init__(self, message: str, field: str = ""):
        self.field = field
        super().__init__(message)


def check_version(current: int, expected: int | None, *, what: str) -> None:
    """Optimistic locking: refuse a write based on a version other than ``current``.

    Every write to an existing row must say which version the caller read: without one, two
    writers who never saw each other's change could both succeed (issue 14). A missing version
    is a 422 naming ``version``; a stale one a :class:`VersionConflict` (409).
    """
    if expected is None:
        raise InvalidChange(
            f"the version of the {what} you read is required (it guards against "
            "overwriting someone else's change)",
            field="version",
        )
    if expected != current:
        raise VersionConflict(current, what=what)
