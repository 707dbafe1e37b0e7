"""As a new user would: load the seed catalog as this year's POA, invite people with the CLI,
report last month for 303 from the chat, and read it back with ``poa-bot resumen``."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest

from bot.cli import main
from bot.clock import FrozenClock
from tests.harness import running_bot

ANA, GERENTE = 4303, 4300
TYPED = [("255,948", "Todo entregado <a tiempo> & sin quejas"), ("255 950", None),
         ("2,900", "Brigada extra por fugas"), ("255948", None)]


@pytest.fixture
def cli_env(monkeypatch, tmp_path, database_url):
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return monkeypatch


def start_text(out: str) -> str:
    return re.search(r"/start [A-Za-z0-9_-]+", out)[0]


async def test_new_user_walkthrough(cli_env, db, seed_tsv, capsys):
    # "This year" is 2024 for the frozen clock: 3 April 2024, so last month is March.
    clock = FrozenClock(datetime(2024, 4, 3, 16, 0, tzinfo=UTC))
    assert main(["import-poa", str(seed_tsv), "--catalog-only", "--year", "2024"]) == 0
    assert main(["invite", "--role", "coordinador", "--unit", "303", "--name", "Ana"]) == 0
    ana_start = start_text(capsys.readouterr().out)
    assert main(["invite", "--role", "gerente", "--name", "Gerente"]) == 0
    gerente_start = start_text(capsys.readouterr().out)

    async with running_bot(db, clock=clock) as bot:
        assert "acceso como responsable de: 303" in (await bot.say(ANA, ana_start)).text
        assert "acceso como gerente" in (await bot.say(GERENTE, gerente_start)).text
        # One unit and one open period: the card of March comes at once.
        message = await bot.start_report(ANA, "marzo 2024")
        for number, (value, remarks) in enumerate(TYPED):
            # One value at a time: each card lists what is still pending.
            left = len(TYPED) - number
            assert f"marzo 2024 · faltan {left} de" in message.text, message.text
            message = await bot.say(ANA, value)
            if "¿Es correcto?" in message.text:
                message = await bot.press(ANA, message.buttons[0][1])
            assert "Guardé" in message.text
            if remarks:
                message = await bot.say(ANA, remarks)
                assert message.text.startswith("📝")  # remarks echoed atop the next card
            else:
                message = await bot.press(ANA, message.buttons[0][1])
        assert "Listo: marzo 2024" in message.text

    capsys.readouterr()
    assert main(["resumen", "--period", "2024-03", "--unit", "303", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["valor"], r["observaciones"]) for r in rows] == [
        (value.replace(",", "").replace(" ", ""), remarks or "") for value, remarks in TYPED]
    assert {r["reportado"] for r in rows} == {"si"}
    assert main(["resumen", "--period", "2024-03", "--unit", "303"]) == 0
    table = capsys.readouterr().out
    assert "255,948" in table and "2,900" in table
