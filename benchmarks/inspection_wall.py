"""Time ``inspect_pipeline`` over every deal of an already loaded benchmark database.

A quick before/after tool next to ``bin/bench inspection``: no loading, no baseline, just
the wall time and the service's own read/evaluate split, ``--runs`` times. Point it at a
database ``bin/bench inspection`` loaded, and at whichever checkout's ``src`` is to be
measured (``PYTHONPATH``), e.g. an older commit in a ``git worktree``::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/milepost_bench \\
        .venv/bin/python -m benchmarks.inspection_wall --runs 2
    DATABASE_URL=sqlite:///$PWD/var/bench/inspection.sqlite3 \\
        .venv/bin/python -m benchmarks.inspection_wall --runs 1
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--read-threads", type=int, default=None, help="default: the service's")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "milepost.settings")
    os.environ["MILEPOST_DEBUG"] = "0"
    import django

    django.setup()
    from benchmarks.inspection import AS_OF
    from milepost.inspection.pipeline import inspect_pipeline
    from milepost.team.models import User

    admin = User.objects.get(username="bench.admin")
    for _ in range(args.runs):
        started = time.perf_counter()
        result = inspect_pipeline(
            user=admin, as_of=AS_OF, include_closed=True, read_threads=args.read_threads
        )
        seconds = time.perf_counter() - started
        split = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
        print(f"{seconds:.2f} s for {result.deals.height:,} deals ({split})", flush=True)


if __name__ == "__main__":
    main()
