"""``poa-bot`` as a process, facing a rejected token or an unusable database: one clear
line, a non-zero exit code, no traceback, and never a secret on the screen."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.telegram_standin import BotApiStub
from tests.harness import TEST_TOKEN

REPO = Path(__file__).resolve().parents[1]
REJECTED_TOKEN = "987654:REJECTED-token-zyxwvutsrqponmlkjihgfedcba"
PASSWORD = "S3cr3t-Passw0rd"


async def poa_bot(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    """Run ``poa-bot ARGS``; returns (exit code, stdout + stderr)."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("TELEGRAM_", "DATABASE_", "WEBHOOK_", "POA_"))}
    full_env.update(env, PYTHONPATH=str(REPO))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=cwd, env=full_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, out.decode() + err.decode()


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


async def test_a_rejected_token_is_one_line_and_never_printed(tmp_path):
    async with BotApiStub(token=TEST_TOKEN) as stub:  # answers 401 to any other token
        code, output = await poa_bot("run", cwd=tmp_path, TELEGRAM_BOT_TOKEN=REJECTED_TOKEN,
                                     TELEGRAM_API_BASE_URL=stub.base_url,
                                     DATABASE_URL=f"sqlite:///{tmp_path / 'poa.db'}")
        assert [r.description for r in stub.rejections] == ["Unauthorized"]
    assert code == 2, output
    assert REJECTED_TOKEN not in output and REJECTED_TOKEN.split(":")[1] not in output, output
    assert "Traceback" not in output, output
    assert "Telegram rechazó el token (TELEGRAM_BOT_TOKEN)" in output
    assert "Telegram rejected the token (TELEGRAM_BOT_TOKEN)" in output


BAD_URLS = {
    "postgres:/x": "no es una URL de base de datos",
    "foo://": "solo trabaja con SQLite o PostgreSQL",
    f"postgresql//poa:{PASSWORD}@db/poa": "no es una URL de base de datos",
}


@pytest.mark.parametrize("command", ["run", "migrate", "doctor"])
async def test_an_unusable_database_is_one_clear_line(tmp_path, command):
    corrupt = tmp_path / "poa.db"
    garbage = os.urandom(8192)
    corrupt.write_bytes(garbage)
    cases = {**BAD_URLS,
             f"sqlite:///{corrupt}": "no es una base de datos SQLite válida",
             "sqlite:////nonexistent/dir/x.db": "La carpeta /nonexistent/dir de la base de "
                                                "datos (sqlite:////nonexistent/dir/x.db) no existe"}
    async with BotApiStub(token=TEST_TOKEN) as stub:
        results = await asyncio.gather(*(
            poa_bot(command, cwd=tmp_path, DATABASE_URL=url, TELEGRAM_BOT_TOKEN=TEST_TOKEN,
                    TELEGRAM_API_BASE_URL=stub.base_url) for url in cases))
    for (url, expected), (code, output) in zip(cases.items(), results, strict=True):
        assert code != 0 and "Traceback" not in output and PASSWORD not in output, (url, output)
        if command == "doctor" and url.startswith("sqlite"):
            # The checklist goes on (the Bot API is fine); the database is its one [!!] line.
            problems = [line for line in lines(output) if line.startswith("[!!]")]
            assert len(problems) == 1 and expected in problems[0], (url, output)
        else:
            assert len(lines(output)) == 1 and expected in output, (url, output)
    assert corrupt.read_bytes() == garbage  # reported, not "repaired"
    assert not Path("/nonexistent").exists()
