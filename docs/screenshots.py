"""Regenerate the README's screenshots from the running demo (``poa-bot demo``).

    .venv/bin/python docs/screenshots.py      # needs Debian's Chromium (/usr/bin/chromium)

Starts ``poa-bot demo --no-browser`` on a free port, drives its web chat with Playwright as a
person would (coordinador 303 reports April: one value, then the other three in one message;
the gerente asks ``/resumen abril``) and saves ``docs/demo.png`` and ``docs/resumen.png``.
The pictures are of the real bot: whatever it answers today is what they show.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

DOCS = Path(__file__).resolve().parent
POA_BOT = Path(sys.executable).with_name("poa-bot")
CHROMIUM = "/usr/bin/chromium"
GERENTE, COORD_303 = 1000, 10303
VIEWPORT = {"width": 1280, "height": 760}
TALL = {"width": 1280, "height": 1180}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def send(page, text: str) -> None:
    page.locator("#composer-text").fill(text)
    page.locator("#composer-text").press("Enter")
    expect(page.locator(".message.user").last).to_contain_text(text)


def main() -> int:
    port = free_port()
    demo = subprocess.Popen([str(POA_BOT), "demo", "--no-browser", "--port", str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        for line in demo.stdout:
            if re.search(r"Abre el chat en:\s+http://127\.0\.0\.1", line):
                break
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport=VIEWPORT)
            expect.set_options(timeout=20_000)
            page.goto(f"http://127.0.0.1:{port}/")
            expect(page.locator(".person")).to_have_count(10)

            page.locator(f'.person[data-user="{COORD_303}"]').click()
            send(page, "/reportar")
            expect(page.locator(".message.bot").last).to_contain_text("faltan 4 de 4")
            send(page, "256100 255900 150 255900")
            table = page.locator(".message.bot").last
            expect(table.locator("button", has_text="Sí, guardar")).to_be_visible()
            table.locator("button", has_text="Sí, guardar").click()
            last = page.locator(".message.bot").last
            expect(last).to_contain_text("Listo")
            last.scroll_into_view_if_needed()
            page.screenshot(path=str(DOCS / "demo.png"))

            page.set_viewport_size(TALL)  # the whole first screen, as on a phone held long
            page.locator(f'.person[data-user="{GERENTE}"]').click()
            send(page, "/resumen abril")
            expect(page.locator(".message.bot").last).to_contain_text("Resumen POA")
            page.locator(".message.bot").last.scroll_into_view_if_needed()
            page.screenshot(path=str(DOCS / "resumen.png"))
            browser.close()
    finally:
        demo.terminate()
        demo.wait(timeout=60)
    print(f"{DOCS / 'demo.png'}\n{DOCS / 'resumen.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
