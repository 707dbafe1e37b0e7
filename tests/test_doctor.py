"""`poa-bot doctor` against a real database and the stand-in Bot API."""

import asyncio

from bot.cli import main
from bot.telegram_standin import BotApiStub


async def _doctor(monkeypatch, capsys, database_url, **env) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # doctor runs its own event loop (asyncio.run), so call it from a worker thread.
    code = await asyncio.to_thread(main, ["doctor"])
    return code, capsys.readouterr().out


async def test_doctor_all_good_except_empty_catalog(monkeypatch, capsys, database_url):
    async with BotApiStub(bot_username="poa_doctor_bot") as stub:
        code, out = await _doctor(monkeypatch, capsys, database_url,
                                  TELEGRAM_BOT_TOKEN=stub.token,
                                  TELEGRAM_API_BASE_URL=stub.base_url)
    assert "[ok] Bot API accesible: @poa_doctor_bot" in out
    assert "[ok] Migraciones al día" in out
    assert "No hay indicadores cargados" in out  # nothing imported yet
    assert code == 1
    assert stub.token not in out


async def test_doctor_says_token_is_wrong(monkeypatch, capsys, database_url):
    async with BotApiStub() as stub:
        code, out = await _doctor(monkeypatch, capsys, database_url,
                                  TELEGRAM_BOT_TOKEN="999999:WRONG-TOKEN-wrong-token-wrong",
                                  TELEGRAM_API_BASE_URL=stub.base_url)
    assert code == 1
    assert "Telegram rechazó el token" in out
    assert "WRONG-TOKEN" not in out


async def test_doctor_without_token(monkeypatch, capsys, database_url):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    code, out = await _doctor(monkeypatch, capsys, database_url)
    assert code == 1
    assert "Falta TELEGRAM_BOT_TOKEN" in out
