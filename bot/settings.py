"""Settings from the environment and ``.env`` (see ``.env.example`` for each one)."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.calendar import BusinessDays
from bot.domain.official_holidays import is_known_country
from storage.db import normalize_url, sqlite_path

PUBLIC_BOT_API = "https://api.telegram.org/bot"
_WEEKDAYS = {name: number for number, names in enumerate(
    (("lunes", "monday", "mon", "lun"), ("martes", "tuesday", "tue", "mar"),
     ("miércoles", "miercoles", "wednesday", "wed", "mie"), ("jueves", "thursday", "thu", "jue"),
     ("viernes", "friday", "fri", "vie"), ("sábado", "sabado", "saturday", "sat", "sab"),
     ("domingo", "sunday", "sun", "dom")), start=1) for name in names}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = PUBLIC_BOT_API
    database_url: str = "sqlite:///poa.db"
    poa_timezone: str = "America/Matamoros"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret_token: SecretStr | None = None
    # Off only for benchmarks against a local stand-in (handling cost without the 30/s pace).
    telegram_rate_limit: bool = True
    # Pace of one chat (Telegram: about 1 message/s, short bursts tolerated); 0: no pace.
    telegram_chat_rate: float = Field(default=1.0, ge=0)
    telegram_chat_burst: int = Field(default=3, ge=1, le=30)
    # Every thread of `poa-bot run` on one CPU (bot/commands/run.py keep_to_one_cpu).
    poa_one_cpu: bool = True

    # Reporting calendar (all days are days of the month after the period closes).
    poa_deadline_day: int = Field(default=5, ge=1, le=28)
    poa_reminder_days: Annotated[list[int], NoDecode] = [1, 3, 5]
    poa_reminder_time: time = time(9, 0)
    poa_escalation_day: int | None = Field(default=None, ge=1, le=28)
    poa_grace_days: int = Field(default=0, ge=0, le=60)
    # Deadlines, reminders and the escalation move off weekends and holidays to the next
    # business day (bot/domain/calendar.py BusinessDays).
    poa_business_days: bool = True
    poa_holidays_country: str = "MX"  # official holidays (``holidays`` package); "" for none
    poa_extra_holidays: Annotated[list[date], NoDecode] = []  # local days off

    # Traffic-light bands: attainment at or above GREEN is on target, at or above YELLOW is
    # close, below is behind (percent of the meta).
    poa_band_green: Decimal = Decimal("100")
    poa_band_yellow: Decimal = Decimal("80")

    invitation_days: int = Field(default=7, ge=1, le=90)

    # The gerentes' weekly digest (bot/services/digest.py): ISO weekday 1 (Monday) to 7, or
    # its name (lunes, monday...); "off" sends none. Local time of POA_TIMEZONE.
    poa_digest_day: int | None = 1
    poa_digest_time: time = time(8, 30)

    @field_validator("poa_digest_day", mode="before")
    @classmethod
    def _weekday(cls, value):
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("", "off", "no", "none", "0"):
                return None
            if word in _WEEKDAYS:
                return _WEEKDAYS[word]
        if value is None:
            return None
        day = int(value)
        if not 1 <= day <= 7:
            raise ValueError("POA_DIGEST_DAY: 1 (lunes) a 7 (domingo), el nombre del día u off")
        return day

    # Approval cycle (bot.services.approval): a coordinador sends each complete unit-period
    # for review and a gerente approves (locks it) or returns it. False: today's behaviour.
    poa_approval_required: bool = False

    # Evidence (medios de verificación, bot/services/evidence.py): where the downloaded
    # copies go. Unset: a folder ``evidencia`` beside the SQLite file, or in the working
    # directory for PostgreSQL.
    poa_evidence_dir: Path | None = None

    @field_validator("poa_reminder_days", mode="before")
    @classmethod
    def _split_days(cls, value):
        if isinstance(value, str):
            value = [part for part in value.replace(";", ",").split(",") if part.strip()]
        days = sorted({int(day) for day in value})
        if any(not 1 <= day <= 28 for day in days):
            raise ValueError("POA_REMINDER_DAYS: días del 1 al 28")
        return days

    @field_validator("poa_extra_holidays", mode="before")
    @classmethod
    def _split_dates(cls, value):
        if isinstance(value, str):
            value = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("poa_evidence_dir", mode="before")
    @classmethod
    def _empty_dir_is_default(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("poa_holidays_country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        value = value.strip().upper()
        if value and not is_known_country(value):
            raise ValueError(f"POA_HOLIDAYS_COUNTRY desconocido: {value} (p. ej. MX)")
        return value

    @field_validator("poa_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"POA_TIMEZONE desconocida: {value}") from exc
        return value

    @model_validator(mode="after")
    def _default_escalation(self):
        if self.poa_escalation_day is None:
            self.poa_escalation_day = min(self.poa_deadline_day + 1, 28)
        return self

    @cached_property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.poa_timezone)

    @cached_property
    def business_days(self) -> BusinessDays:
        return BusinessDays(country=self.poa_holidays_country or None,
                            extra=frozenset(self.poa_extra_holidays),
                            shift=self.poa_business_days)

    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    def evidence_dir(self) -> Path:
        """Folder of the evidence copies (``POA_EVIDENCE_DIR``, see the field)."""
        if self.poa_evidence_dir is not None:
            return self.poa_evidence_dir
        database = sqlite_path(normalize_url(self.database_url))
        return (database.parent if database is not None else Path.cwd()) / "evidencia"
