"""Take the screenshots in docs/ and the README: the demo organisation in Debian's chromium.

    .venv/bin/python docs/screenshots/take.py

Loads the demo into a temporary SQLite database, serves it on a free port and saves
dashboard.png, incident.png, oncall.png and status.png next to this script."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        environment = {
            **os.environ,
            "FIRELINE_DATABASE_URL": f"sqlite:///{folder}/demo.db",
            "FIRELINE_SPOOL_DIR": f"{folder}/spool",
            "FIRELINE_PORT": str(port),
        }
        subprocess.run(
            [bin_dir / "fireline", "demo"], env=environment, check=True, stdout=subprocess.DEVNULL
        )
        server = subprocess.Popen(
            [bin_dir / "fireline", "serve"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(base + "/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True)
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                page.goto(base + "/login")
                page.get_by_label("Handle").fill("admin")
                page.get_by_label("Password").fill("fireline-demo")
                page.get_by_role("button", name="Sign in").click()
                page.screenshot(path=HERE / "dashboard.png", full_page=True)
                page.goto(base + "/app/incidents?team=openverse")
                page.get_by_role("link", name="Openverse.org is completely offline").click()
                page.screenshot(path=HERE / "incident.png", full_page=True)
                page.goto(base + "/app/oncall")
                page.locator("table a").first.click()
                page.screenshot(path=HERE / "oncall.png", full_page=True)
                page.goto(base + "/status/demo")
                page.screenshot(path=HERE / "status.png", full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print("saved", ", ".join(p.name for p in sorted(HERE.glob("*.png"))))


if __name__ == "__main__":
    main()
