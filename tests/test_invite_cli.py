"""``poa-bot invite`` and ``poa-bot run`` without a token, through the real CLI entry point."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from bot.cli import main
from bot.services.registration import hash_token
from bot.telegram_standin import BotApiStub
from storage.models import Invitation
from tests.harness import TEST_TOKEN, add_sample_catalog


@pytest.fixture
def cli_env(monkeypatch, tmp_path, database_url):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return monkeypatch


@pytest.fixture
def stub_thread():
    handle = BotApiStub(token=TEST_TOKEN, bot_username="poa_cli_bot").run_in_thread()
    yield handle
    handle.stop()


def test_invite_prints_link_and_start_text(cli_env, stub_thread, db, capsys):
    db.call(add_sample_catalog)
    cli_env.setenv("TELEGRAM_BOT_TOKEN", TEST_TOKEN)
    cli_env.setenv("TELEGRAM_API_BASE_URL", stub_thread.base_url)
    assert main(["invite", "--role", "coordinador", "--unit", "303", "--unit", "306",
                 "--name", "Ana López"]) == 0
    out = capsys.readouterr().out
    link = re.search(r"https://t\.me/poa_cli_bot\?start=([A-Za-z0-9_-]+)", out)
    text = re.search(r"/start ([A-Za-z0-9_-]+)", out)
    assert link and text and link[1] == text[1]
    assert "303 FACTURACION, 306 ALTOS CONSUMOS (Ana López)" in out
    invitation = db.call(lambda s: s.exec(select(Invitation)).one())
    assert invitation.token_hash == hash_token(link[1]) and invitation.unit_claves == "303,306"
    assert (invitation.expires_at - invitation.created_at).days == 7


def test_invite_without_token_prints_the_text_and_why(cli_env, db, capsys):
    db.call(add_sample_catalog)
    assert main(["invite", "--role", "gerente"]) == 0
    out = capsys.readouterr().out
    assert "t.me" not in out and "TELEGRAM_BOT_TOKEN no está configurado" in out
    assert re.search(r"/start [A-Za-z0-9_-]{20,}", out)


def test_invite_refuses_unknown_units_and_coordinador_without_unit(cli_env, db, capsys):
    db.call(add_sample_catalog)
    assert main(["invite", "--role", "coordinador", "--unit", "999"]) == 2
    assert "No existe la unidad 999" in capsys.readouterr().err
    assert main(["invite", "--role", "coordinador"]) == 2
    assert "al menos una unidad" in capsys.readouterr().err
    assert db.call(lambda s: s.exec(select(Invitation)).all()) == []


def test_run_without_token_exits_at_once_saying_what_to_set(cli_env, capsys):
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err and ".env" in err and "@BotFather" in err
    assert "is not set" in err  # and in English
