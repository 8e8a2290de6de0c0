"""Locust users for ``bin/bench board``: each signs in as one demo user of a role and loads the
pipeline board the way a browser does, again and again.

One iteration is what a person opening the board costs the server: the board page itself
(``board``), then the control dots of the cards it shows (``board controls``, the one request
the page makes after loading). Settings come from the environment, set by
:mod:`benchmarks.board`: ``BENCH_SESSIONS`` (``username:session key`` pairs, comma separated,
handed out round robin: the sessions were opened before the run, so signing in, which hashes
a password on purpose, is not part of what is measured), ``BENCH_WAIT`` (seconds between
iterations, ``min,max``).

Locust runs this file in its own gevent process; it imports neither Django nor Milepost.
"""

from __future__ import annotations

import itertools
import os
import re

from locust import HttpUser, between, task

_SESSIONS = [p.split(":", 1) for p in os.environ.get("BENCH_SESSIONS", "").split(",") if p]
_NEXT = itertools.cycle(_SESSIONS or [["nobody", ""]])
_WAIT = [float(x) for x in os.environ.get("BENCH_WAIT", "1,2").split(",")]
_CARD = re.compile(r'id="deal-(\d+)"')
SESSION_COOKIE = "sessionid"  # Django's default; Milepost does not rename it


class BoardUser(HttpUser):
    wait_time = between(_WAIT[0], _WAIT[-1])

    def on_start(self) -> None:
        self.username, key = next(_NEXT)
        self.client.cookies.set(SESSION_COOKIE, key)

    @task
    def open_board(self) -> None:
        with self.client.get("/pipeline/", name="board", catch_response=True) as response:
            if response.status_code != 200 or "Pipeline board" not in response.text:
                response.failure(f"status {response.status_code}")
                return
            ids = _CARD.findall(response.text)
        if ids and "/pipeline/controls/" in response.text:  # an older board has no dots
            self.client.get(
                "/pipeline/controls/", params={"ids": ",".join(ids)}, name="board controls"
            )
