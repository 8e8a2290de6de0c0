"""Locust users for ``bin/bench load`` (issue 14, "Load and faults"): reps, managers and leaders
working at once, the way their browsers do.

- **Reps** open one of their open deals (the page, then what it loads after itself), then edit
  it through the API the page's forms use (read the deal for its ``version``, ``PATCH`` with
  that version; on a 409 read it again and retry once) or log an activity on it.
- **Managers** open the inspection page (and the overdue 1:1 items it loads after itself), the
  1:1 home and one of their 1:1 sessions.
- **Leaders** open the leader overview, one manager's coaching effect and the digest, plus any
  extra pages named in ``BENCH_LEADER_EXTRA`` (the analytics pages, once they exist).

Every write that gets a 2xx is appended to ``BENCH_ACK_LOG`` (one JSON object a line, flushed
at once): the deal's id, the version the server answered and the ``next_step`` it now holds,
or the activity's id, deal and subject. :mod:`benchmarks.acked` checks them against the
database after the faults.

Settings come from the environment (set by :mod:`benchmarks.loadfaults`): ``BENCH_USERS`` (a
JSON file: per role, the demo users with a session opened beforehand and their deals, 1:1
sessions or managers), ``BENCH_WAIT`` (think time, ``min,max`` seconds), ``BENCH_MIX``
(``reps,managers,leaders`` Locust users), ``BENCH_RUN`` (a tag put into every value written, so
two runs never write the same text).

Locust runs this file in its own gevent process; it imports neither Django nor Milepost.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import threading
from typing import Any

from locust import HttpUser, between, task

SESSION_COOKIE = "sessionid"  # Django's defaults; Milepost renames neither
CSRF_COOKIE = "csrftoken"

_USERS: dict[str, list[dict[str, Any]]] = {"rep": [], "manager": [], "leader": []}
if os.environ.get("BENCH_USERS"):
    with open(os.environ["BENCH_USERS"]) as f:
        _USERS.update(json.load(f))
_NEXT = {role: itertools.cycle(rows or [{}]) for role, rows in _USERS.items()}
_WAIT = [float(x) for x in os.environ.get("BENCH_WAIT", "5,15").split(",")]
_MIX = [int(x) for x in os.environ.get("BENCH_MIX", "30,14,6").split(",")]
_RUN = os.environ.get("BENCH_RUN", "run")
_LEADER_EXTRA = [p for p in os.environ.get("BENCH_LEADER_EXTRA", "").split(",") if p]
_ACK_PATH = os.environ.get("BENCH_ACK_LOG", "")
_ACK_LOCK = threading.Lock()
_ACK_FILE = open(_ACK_PATH, "a", buffering=1) if _ACK_PATH else None  # noqa: SIM115 - process-long
_SEQ = itertools.count(1)
# hx-get="..." on an element that loads itself as soon as it is on the page (hx-trigger="load").
_LOADS = re.compile(r'<[^>]*\bhx-get="([^"]+)"[^>]*\bhx-trigger="load"[^>]*>')


def acknowledge(record: dict[str, Any]) -> None:
    """One acknowledged write, on disk before the next request is sent."""
    if _ACK_FILE is None:
        return
    with _ACK_LOCK:
        _ACK_FILE.write(json.dumps(record, sort_keys=True) + "\n")
        _ACK_FILE.flush()
        os.fsync(_ACK_FILE.fileno())


class _Signed(HttpUser):
    abstract = True
    role = ""
    wait_time = between(_WAIT[0], _WAIT[-1])

    def on_start(self) -> None:
        self.me = next(_NEXT[self.role])
        self.client.cookies.set(SESSION_COOKIE, self.me.get("session", ""))

    def page(self, path: str, name: str) -> str:
        """GET a page as a browser does: the page, then what it loads after itself."""
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return ""
            body = response.text
        for url in _LOADS.findall(body):
            self.client.get(html.unescape(url), name=f"{name}: loaded after")
        return body


class Rep(_Signed):
    role = "rep"
    fixed_count = _MIX[0]

    def _deal(self) -> int:
        return random.choice(self.me["deals"])

    def _headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get(CSRF_COOKIE, "")}

    def _read(self, deal: int) -> dict[str, Any] | None:
        with self.client.get(
            f"/api/v1/opportunities/{deal}", name="api: read deal", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return None
            return response.json()

    @task(3)
    def edit_deal(self) -> None:
        deal = self._deal()
        self.page(f"/pipeline/opportunities/{deal}/", "deal page")
        current = self._read(deal)
        for _attempt in range(2):
            if current is None:
                return
            value = f"Follow up {_RUN}-{self.me['username']}-{next(_SEQ)}"
            with self.client.patch(
                f"/api/v1/opportunities/{deal}",
                json={"version": current["version"], "next_step": value},
                headers=self._headers(),
                name="api: edit deal",
                catch_response=True,
            ) as response:
                if response.status_code == 200:
                    answer = response.json()
                    acknowledge(
                        {
                            "kind": "deal",
                            "id": deal,
                            "version": answer["version"],
                            "value": answer["next_step"],
                        }
                    )
                    return
                if response.status_code == 409:
                    # Someone saved first: the optimistic lock did its job. Read again, retry.
                    response.success()
                    self.environment.events.request.fire(
                        request_type="PATCH",
                        name="api: edit deal, 409 (re-read)",
                        response_time=0,
                        response_length=0,
                        exception=None,
                        context={},
                    )
                    current = self._read(deal)
                    continue
                response.failure(f"status {response.status_code}")
                return

    @task(2)
    def log_activity(self) -> None:
        deal = self._deal()
        self.page(f"/pipeline/opportunities/{deal}/", "deal page")
        subject = f"Call {_RUN}-{self.me['username']}-{next(_SEQ)}"
        with self.client.post(
            f"/api/v1/opportunities/{deal}/activities",
            json={"type": "call", "subject": subject, "outcome": "Load test"},
            headers=self._headers(),
            name="api: log activity",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"status {response.status_code}")
                return
            answer = response.json()
            acknowledge({"kind": "activity", "id": answer["id"], "deal": deal, "value": subject})


class Manager(_Signed):
    role = "manager"
    fixed_count = _MIX[1]

    @task(3)
    def inspection(self) -> None:
        self.page("/inspection/", "inspection")

    @task(1)
    def one_on_ones(self) -> None:
        self.page("/coaching/", "1:1 home")

    @task(2)
    def one_on_one(self) -> None:
        sessions = self.me.get("sessions") or []
        if sessions:
            session = random.choice(sessions)
            self.page(f"/coaching/sessions/{session}/", "1:1 session")


class Leader(_Signed):
    role = "leader"
    fixed_count = _MIX[2]

    @task(2)
    def overview(self) -> None:
        self.page("/coaching/leaders/", "leader overview")

    @task(2)
    def effect(self) -> None:
        managers = self.me.get("managers") or []
        if managers:
            manager = random.choice(managers)
            self.page(f"/coaching/leaders/{manager}/effect/", "leader: manager effect")

    @task(1)
    def digest(self) -> None:
        self.page("/coaching/digest/", "leader digest")

    @task(2)
    def analytics(self) -> None:
        if _LEADER_EXTRA:
            path = random.choice(_LEADER_EXTRA)
            self.page(path, f"leader: {path}")
