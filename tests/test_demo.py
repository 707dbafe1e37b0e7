"""``poa-bot demo``: the real bot in a browser chat, driven through a real headless browser.

The demo runs as a subprocess (``poa-bot demo --no-browser --port N``), exactly as a newcomer
starts it, and Debian's Chromium drives its page through Playwright: nobody is registered by
hand, a coordinador reports a value alone and the rest of the unit in one message, the gerente
sees it in ``/resumen`` (one unit: its detail at once), downloads the workbook and sees the
chart, the clock control sends the reminders, and Ctrl-C (SIGINT) stops everything. Every
wait is on a page element or a line of output, never a sleep.

Chromium comes from ``apt-get install -y chromium`` (``.ci/run`` installs it); without it the
browser test is skipped on a developer machine and fails in CI (``CI=true``).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlmodel import select

from bot.cli import main
from bot.clock import FrozenClock, OffsetClock
from bot.demo.seed import create_people, load_report, seed_report, start_time
from bot.domain.calendar import ReportingCalendar
from storage.db import Database
from storage.models import Indicator, Person, ReportedValue

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
MATAMOROS = ZoneInfo("America/Matamoros")
STARTUP_SECONDS = 60  # generous: two cores shared with other test runs
GERENTE, COORD_303, COORD_305 = 1000, 10303, 10305


# --- pieces without a browser -----------------------------------------------------------------

def test_offset_clock_runs_from_the_instant_it_is_set_to():
    real = FrozenClock(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    clock = OffsetClock(datetime(2023, 5, 1, 13, 0, tzinfo=UTC), source=real)
    assert clock() == datetime(2023, 5, 1, 13, 0, tzinfo=UTC)
    real.advance(datetime(2026, 1, 10, 12, 30, tzinfo=UTC) - real())
    assert clock() == datetime(2023, 5, 1, 13, 30, tzinfo=UTC)  # time keeps running
    clock.set(datetime(2023, 5, 6, 14, 0, tzinfo=UTC))
    assert clock() == datetime(2023, 5, 6, 14, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.set(datetime(2023, 5, 6, 14, 0))


def test_seed_ships_with_the_package_and_sets_the_stage(db):
    """The packaged report loads; a gerente and one coordinador per unit; the demo opens an
    hour before April's first reminder (March is the last month with values)."""
    db.migrate()
    assert seed_report().is_file()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with db.session() as session:
        result = load_report(session, seed_report(), now)
    assert result.periods == ["2023-01", "2023-02", "2023-03", "2023-Q1", "2023-S1"]
    calendar = ReportingCalendar(timezone=MATAMOROS)
    with db.session() as session:
        people = create_people(session, now)
        assert start_time(session, calendar) == datetime(2023, 5, 1, 8, 0, tzinfo=MATAMOROS)
    assert [p.name for p in people][:3] == ["Gerente Comercial", "Coordinador 300",
                                            "Coordinador 303"]
    assert len(people) == 10  # 9 units in the seed
    with db.session() as session:  # again (a kept database): nobody twice
        create_people(session, now)
        assert len(session.exec(select(Person)).all()) == 10


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env; DATABASE_URL's default poa.db would land here
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "WEBHOOK_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_demo_refuses_a_missing_or_malformed_report(no_env, capsys):
    assert main(["demo", "--no-browser", "--poa", "missing.tsv"]) == 1
    assert "No existe el archivo missing.tsv" in capsys.readouterr().err
    bad = no_env / "bad.tsv"
    bad.write_text(seed_report().read_text(encoding="utf-8").replace("255,835", "abc", 1),
                   encoding="utf-8")
    assert main(["demo", "--no-browser", "--poa", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "bad.tsv: línea" in captured.err and "No se importó nada" in captured.err
    assert "temporal de la demo borrada" in captured.out
    assert not (no_env / "poa.db").exists()  # the demo never touches DATABASE_URL's database


def test_demo_says_when_its_port_is_taken(no_env, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["demo", "--no-browser", "--port", str(port)]) == 1
    assert f"No se puede abrir el puerto {port}" in capsys.readouterr().err


# --- the demo as a process ----------------------------------------------------------------------

class DemoProcess:
    """``poa-bot demo`` in a subprocess, its output read line by line."""

    def __init__(self, args: list[str], cwd: Path):
        script = Path(sys.executable).with_name("poa-bot")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_URL", "POA_"))}
        env["PYTHONUNBUFFERED"] = "1"
        self.stderr_path = cwd / "demo.stderr"
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen([*command, "demo", "--no-browser", *args], cwd=cwd,
                                        env=env, stdout=subprocess.PIPE,
                                        stderr=self._stderr, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = STARTUP_SECONDS) -> re.Match:
        deadline = datetime.now(UTC).timestamp() + timeout
        while True:
            remaining = deadline - datetime.now(UTC).timestamp()
            try:
                line = self.lines.get(timeout=max(remaining, 0.01))
            except queue.Empty:
                line = ""
                if remaining <= 0:
                    raise AssertionError(self.diagnostics(f"no line matching {pattern!r}")) \
                        from None
            if line is None:
                raise AssertionError(self.diagnostics(f"demo exited before {pattern!r}"))
            self.output.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def interrupt(self) -> int:
        """Ctrl-C; returns the exit code once it has stopped, with the rest of its output."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        while (line := self.lines.get(timeout=10)) is not None:
            self.output.append(line)
        return code

    def diagnostics(self, what: str) -> str:
        self._stderr.flush()
        return (f"{what}\nstdout:\n{''.join(self.output)}\nstderr:\n"
                f"{self.stderr_path.read_text(errors='replace')[-4000:]}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._stderr.close()


@pytest.fixture
def demo_process(tmp_path) -> Iterator[type[DemoProcess]]:
    started: list[DemoProcess] = []

    def start(*args: str) -> DemoProcess:
        demo = DemoProcess(list(args), tmp_path)
        started.append(demo)
        return demo

    yield start  # type: ignore[misc]
    for demo in started:
        demo.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("keep", [False, True], ids=["throwaway", "keep-db"])
def test_ctrl_c_stops_and_keeps_the_database_only_when_asked(demo_process, tmp_path, keep):
    kept = tmp_path / "kept" / "demo.db"
    demo = demo_process("--port", "0", *(["--keep-db", str(kept)] if keep else []))
    demo.wait_for(r"no se conecta a internet")
    database = demo.wait_for(r"La base de datos.*?sqlite:///(\S+?\.db)")
    path = Path(database.group(1))
    assert path.exists()
    assert demo.interrupt() == 0, demo.diagnostics("exit code")
    output = "".join(demo.output)
    if keep:
        assert path == kept and kept.exists()
        assert "conservada" in output
        assert Database(f"sqlite:///{kept}").call(
            lambda s: len(s.exec(select(Person)).all())) == 10
    else:
        assert not path.exists() and not path.parent.exists()
        assert "borrada" in output


# --- the browser ----------------------------------------------------------------------------------

@pytest.fixture
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = ("Chromium (apt-get install -y chromium)" if not Path(CHROMIUM).exists()
               else "Playwright (pip install -e '.[dev]')" if sync_playwright is None else None)
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test, but {missing} is missing")
        pytest.skip(f"{missing} is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_demo_in_a_browser(browser, demo_process, database_url, tmp_path):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    port = free_port()
    demo = demo_process("--port", str(port), "--database-url", database_url)
    url = demo.wait_for(r"Abre el chat en:\s+(http://127\.0\.0\.1:(\d+)/)").group(1)
    assert url == f"http://127.0.0.1:{port}/"
    demo.wait_for(r"Telegram simulado en http://127\.0\.0\.1:\d+: la demo no se conecta")

    page = browser.new_page(accept_downloads=True)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1:", "data:"))
            else outside.append(r.url))
    page.goto(url)

    # The gerente's chat first: the start-up catch-up told them who missed March, and sent
    # this week's digest (the two jobs run side by side: either may arrive first).
    expect(page.locator(".person")).to_have_count(10)
    expect(page.locator("#chat-title")).to_have_text("Gerente Comercial")
    expect(page.locator(".message.bot", has_text="Indicadores sin reportar — marzo 2023")
           ).to_have_count(1)
    expect(page.locator(".message.bot", has_text="Resumen semanal")).to_have_count(1)
    expect(page.locator("#clock-now")).to_contain_text("2 de mayo de 2023, 08:00")  # 1 May: holiday

    # A coordinador: the menu is their role's; /reportar from it.
    page.locator(f'.person[data-user="{COORD_303}"]').click()
    expect(page.locator("#chat-title")).to_have_text("Coordinador 303")
    page.locator("#menu-button").click()
    commands = page.locator("#commands .command")
    expect(commands.first).to_be_visible()
    names = commands.evaluate_all("items => items.map(i => i.dataset.command)")
    assert "reportar" in names and "exportar" not in names
    page.locator('#commands .command[data-command="reportar"]').click()
    # Only April is open: no period to tap, the unit's short card at once.
    card = page.locator(".message.bot").last
    expect(card).to_contain_text("abril 2023 · faltan 4 de 4")
    expect(card).to_contain_text("1. Recibos entregados a domicilio · meta 255,835")
    expect(page.locator(".message.bot", has_text="¿Qué periodo vas a reportar?")
           ).to_have_count(0)
    send(page, "256,100")  # one value: the first indicator's, as before
    expect(page.locator(".message.bot").last).to_contain_text("Guardé 256,100.")
    page.locator(".message.bot").last.locator("button", has_text="Sin observaciones").click()
    expect(page.locator(".message.bot").last).to_contain_text("faltan 3 de 4")
    send(page, "255900 150 255900")  # the other three in one message: one table
    table = page.locator(".message.bot").last
    expect(table).to_contain_text("2. Inspecciones realizadas: 150")
    table.locator("button", has_text="Sí, guardar").click()
    expect(page.locator(".message.bot").last).to_contain_text(
        "Listo: abril 2023 · 303 COORDINACION DE FACTURACION")

    # The gerente: /resumen shows it, /exportar's workbook holds it, /grafica is an image.
    page.locator(f'.person[data-user="{GERENTE}"]').click()
    expect(page.locator("#chat-title")).to_have_text("Gerente Comercial")
    send(page, "/resumen abril 303")
    expect(page.locator(".message.bot").last).to_contain_text(
        "RECIBOS ENTREGADOS A DOMICILIO\n   256,100 de 255,835")
    send(page, "/exportar abril")
    workbook = page.locator(".message.bot .document", has_text="POA-2023-04.xlsx")
    with page.expect_download() as download_info:
        workbook.locator("a.download").click()
    download = download_info.value
    assert download.suggested_filename == "POA-2023-04.xlsx"
    saved = tmp_path / "POA-2023-04.xlsx"
    download.save_as(saved)
    assert {256100, 255900, 150} <= workbook_values(saved)
    send(page, "/grafica abril")
    chart = page.locator(".message.bot img.photo").last
    expect(chart).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=chart.element_handle())
    assert chart.evaluate("img => img.naturalWidth") == 1080

    # The clock: jump to April's first reminder; coordinadores with something due get it.
    page.locator("#clock-jumps").select_option(index=0)
    expect(page.locator("#clock-jumps option").first).to_contain_text("Recordatorio de abril")
    page.locator("#clock-jump").click()
    expect(page.locator("#toast")).to_contain_text("el bot envió")
    expect(page.locator("#clock-now")).to_contain_text("2 de mayo de 2023, 09:00")
    coordinador = page.locator(f'.person[data-user="{COORD_305}"]')
    expect(coordinador.locator(".badge")).to_have_text("1")
    coordinador.click()
    reminder = page.locator(".message.bot").last
    expect(reminder).to_contain_text("abril 2023")
    expect(reminder.locator(".keyboard button")).not_to_have_count(0)

    assert not outside, f"the page fetched from outside 127.0.0.1: {outside}"
    page.close()
    assert demo.interrupt() == 0, demo.diagnostics("exit code")
    assert "conservada" in "".join(demo.output)  # --database-url: the database is yours
    value = Database(database_url).call(stored_value, "RECIBOS ENTREGADOS A DOMICILIO",
                                        "2023-04")
    assert value == Decimal("256100")


def send(page, text: str) -> None:
    page.locator("#composer-text").fill(text)
    page.locator("#composer-text").press("Enter")
    from playwright.sync_api import expect

    expect(page.locator(".message.user").last).to_contain_text(text)


def workbook_values(path: Path) -> set:
    book = openpyxl.load_workbook(path, read_only=True)
    return {cell for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
            for cell in row if cell is not None}


def stored_value(session, indicator: str, period: str) -> Decimal | None:
    row = session.exec(select(ReportedValue).join(Indicator)
                       .where(Indicator.nombre == indicator,
                              ReportedValue.period == period)).first()
    return row.value if row else None
