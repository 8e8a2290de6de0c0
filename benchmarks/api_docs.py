"""``bin/bench api-docs``: how long the API docs page (Swagger UI, ``/api/v1/docs``) takes to be
usable in Chromium (issue 12).

Starts ``milepost runserver`` (``MILEPOST_DEBUG=0``, this process's database settings: the page
and its OpenAPI document read no rows for a visitor) on a free port, then opens the page
``--loads`` times, each in a fresh browser context (a first visit: nothing cached), and reports
the median, min and max of the time from navigation to the operation list being visible
(``.opblock-tag`` headings; ``.opblock`` rows when Swagger UI lists the operations), then of the
time to open the first operation of the "opportunities" tag (click to its responses shown:
Swagger UI resolves an operation when it is opened). Debian's Chromium, as the browser tests
use. Not part of ``bin/test``: it measures the machine too.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VISIBLE = ".opblock-tag, .opblock"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--loads", type=int, default=7)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, MILEPOST_DEBUG="0", PYTHONPATH=str(REPO / "src"))
    command = [sys.executable, "-m", "milepost", "runserver", f"127.0.0.1:{port}", "--noreload"]
    server = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json")
            return server
        except OSError:
            time.sleep(0.2)  # polling a starting server, not synchronising a test
    server.terminate()
    raise RuntimeError("the server did not start")


def measure(url: str, loads: int) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    seconds, opened = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(loads):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url)
            page.locator(VISIBLE).first.wait_for(state="visible", timeout=120_000)
            seconds.append(time.perf_counter() - start)
            section = page.locator(".opblock-tag-section").filter(
                has=page.locator('.opblock-tag[data-tag="opportunities"]')
            )
            if section.locator(".opblock").count() == 0:  # collapsed (docExpansion "none")
                section.locator(".opblock-tag").click()
            operation = section.locator(".opblock").first
            operation.wait_for(state="visible")
            start = time.perf_counter()
            operation.locator(".opblock-summary-control").click()
            operation.locator(".responses-table .response").first.wait_for(state="visible")
            opened.append(time.perf_counter() - start)
            context.close()
        browser.close()
    return seconds, opened


def main(args: argparse.Namespace) -> int:
    port = _free_port()
    server = _start_server(port)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/docs"
        measure(url, 1)  # warm the server (the OpenAPI document is built on first use)
        seconds, opened = measure(url, args.loads)
    finally:
        server.terminate()
        server.wait()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load} (shared machine)")
    print(
        f"api docs, {args.loads} cold loads, operation list visible: "
        f"median {statistics.median(seconds):.2f} s, "
        f"min {min(seconds):.2f} s, max {max(seconds):.2f} s"
    )
    print(
        f"then opening one operation: median {statistics.median(opened):.2f} s, "
        f"min {min(opened):.2f} s, max {max(opened):.2f} s"
    )
    return 0
