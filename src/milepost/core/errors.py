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


def check_version(current: int, expected: int | None, *, what: str, required: bool = True) -> None:
    """Optimistic locking: refuse a write based on a version other than ``current``.

    ``required`` says whether a caller may omit the version (``None``) and write anyway; an
    omitted version is a conflict when it is required, since the caller cannot have seen the
    row as it is.
    """
    if expected is None:
        if required:
            raise VersionConflict(current, what=what)
        return
    if expected != current:
        raise VersionConflict(current, what=what)
