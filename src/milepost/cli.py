"""The ``milepost`` command: Django's management commands with Milepost's settings preset.

``milepost process validate FILE``, ``milepost demo``, ``milepost runserver`` ... all go
through here, so scripts never need to know about ``DJANGO_SETTINGS_MODULE``.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "milepost.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["milepost", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
