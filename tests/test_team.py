"""``poa-bot people`` and the team use cases (bot/services/team.py) on the database: who is a
stranger, who is reminded, who is responsible, and the log of every change."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.domain.calendar import ReportingCalendar
from bot.domain.periods import Period
from bot.services import pending, reminders, team
from bot.services.registration import (
    RegistrationError,
    create_invitation,
    find_person,
    redeem_invitation,
    register_directly,
)
from storage.models import Person, PersonEvent
from tests.harness import add_sample_catalog

TZ = ZoneInfo("America/Matamoros")
NOW = datetime(2023, 4, 3, 9, 0, tzinfo=TZ).astimezone(UTC)
MARCH = Period.month(2023, 3)
ANA, BETO, GERENTE = 1001, 1002, 9001


@pytest.fixture
def people(db):
    """Catalog 303/305/306; Ana (303, 306), Beto (305) and a gerente. Returns their ids."""
    db.call(add_sample_catalog, 2023)
    ana = db.call(register_directly, telegram_user_id=ANA, role="coordinador",
                  unit_claves=["303", "306"], name="Ana López", now=NOW)
    beto = db.call(register_directly, telegram_user_id=BETO, role="coordinador",
                   unit_claves=["305"], name="Beto", now=NOW)
    gerente = db.call(register_directly, telegram_user_id=GERENTE, role="gerente",
                      name="Gerente", now=NOW)
    return {"ana": ana.id, "beto": beto.id, "gerente": gerente.id}


def calendar() -> ReportingCalendar:
    return ReportingCalendar(timezone=TZ)


def reminded(db) -> dict[int, set[str]]:
    """Who the reminder of 3 April would go to, and for which units."""
    deliveries = db.call(reminders.plan_reminders, [MARCH], "reminder-2023-04-03", NOW,
                         calendar())
    return {d.person_id: {clave for item in d.items for clave, _ in item.units}
            for d in deliveries}


def log(db):
    return db.call(lambda s: [(e.action, e.actor_id, e.person_id, e.detail)
                              for e in s.exec(select(PersonEvent).order_by(PersonEvent.id))])


def test_deactivated_person_is_a_stranger_with_no_reminder_and_unit_without_responsible(
        db, people):
    assert reminded(db) == {people["ana"]: {"303", "306"}, people["beto"]: {"305"}}
    db.call(team.deactivate, people["ana"], actor_id=people["gerente"], now=NOW)
    assert db.call(find_person, ANA) is None
    assert reminded(db) == {people["beto"]: {"305"}}
    missing = db.call(pending.pending_by_unit, MARCH)
    assert missing["303"].responsible == [] and missing["305"].responsible == ["Beto"]
    overview = db.call(team.team_overview, NOW)
    assert [u.clave for u in overview.units_without_responsible] == ["303", "306"]
    assert [m.name for m in overview.inactive] == ["Ana López"]
    # Her figures keep her name: the person row and its units stay.
    ana = db.call(team.member, people["ana"])
    assert ana.name == "Ana López" and ana.unit_claves == ("303", "306") and not ana.active
    # Reactivated: back with her units and her reminders.
    db.call(team.activate, people["ana"], actor_id=None, now=NOW)
    assert db.call(find_person, ANA).unit_claves == ("303", "306")
    assert reminded(db) == {people["ana"]: {"303", "306"}, people["beto"]: {"305"}}
    assert log(db) == [
        ("deactivate", people["gerente"], people["ana"], "coordinador; unidades: 303, 306"),
        ("activate", None, people["ana"], "coordinador; unidades: 303, 306")]


def test_assign_moves_reminders_and_permissions(db, people):
    db.call(team.assign_units, people["beto"], ["305", "303"], actor_id=None, now=NOW)
    db.call(team.assign_units, people["ana"], ["306"], actor_id=None, now=NOW)
    assert reminded(db) == {people["ana"]: {"306"}, people["beto"]: {"303", "305"}}
    assert db.call(find_person, BETO).unit_claves == ("303", "305")
    assert db.call(pending.reportable_periods, people["ana"], NOW, calendar()) == [MARCH]
    assert db.call(pending.pending_indicators, people["ana"], MARCH, "303") == []
    assert len(db.call(pending.pending_indicators, people["beto"], MARCH, "303")) == 3
    assert [e[3] for e in log(db)] == ["unidades: 305 → 303, 305", "unidades: 303, 306 → 306"]


def test_refusals_are_spanish_and_change_nothing(db, people):
    with pytest.raises(team.TeamError, match=re.escape(
            "No existe la unidad 999. Unidades cargadas: 303, 305, 306.")):
        db.call(team.assign_units, people["ana"], ["303", "999"], actor_id=None, now=NOW)
    with pytest.raises(team.TeamError, match="al menos una unidad"):
        db.call(team.assign_units, people["ana"], [" "], actor_id=None, now=NOW)
    with pytest.raises(team.TeamError, match="un gerente ve todas"):
        db.call(team.assign_units, people["gerente"], ["303"], actor_id=None, now=NOW)
    with pytest.raises(team.TeamError, match="No existe la persona 4242"):
        db.call(team.deactivate, 4242, actor_id=None, now=NOW)
    with pytest.raises(team.TeamError, match="último gerente activo"):
        db.call(team.deactivate, people["gerente"], actor_id=people["gerente"], now=NOW)
    with pytest.raises(team.TeamError, match="ya estaba activa"):
        db.call(team.activate, people["ana"], actor_id=None, now=NOW)
    assert db.call(find_person, ANA).unit_claves == ("303", "306")
    assert log(db) == []
    # With a second gerente, one of them may go.
    other = db.call(register_directly, telegram_user_id=9002, role="gerente", name="Sub",
                    now=NOW)
    db.call(team.deactivate, people["gerente"], actor_id=other.id, now=NOW)
    assert db.call(find_person, GERENTE) is None


def test_revoke_invitation(db, people):
    created = db.call(create_invitation, role="coordinador", unit_claves=["305"], name="Carla",
                      now=NOW, days=7)
    [pending_invitation] = db.call(team.pending_invitations, NOW)
    db.call(team.revoke_invitation, pending_invitation.id, actor_id=people["gerente"], now=NOW)
    assert db.call(team.pending_invitations, NOW) == []
    with pytest.raises(RegistrationError, match="venció"):
        db.call(redeem_invitation, token=created.token, telegram_user_id=1003, chat_id=1003,
                telegram_name="Carla", now=NOW + timedelta(minutes=1))
    with pytest.raises(team.TeamError, match="ya no está pendiente"):
        db.call(team.revoke_invitation, pending_invitation.id, actor_id=None, now=NOW)
    # A used invitation cannot be revoked (conditional update).
    used = db.call(create_invitation, role="coordinador", unit_claves=["305"], name="", now=NOW,
                   days=7)
    db.call(redeem_invitation, token=used.token, telegram_user_id=1004, chat_id=1004,
            telegram_name="Dora", now=NOW)
    used_id = db.call(lambda s: s.exec(select(Person.id).where(
        Person.telegram_user_id == 1004)).one())
    assert used_id is not None and db.call(team.pending_invitations, NOW) == []


def test_last_activity_uses_reports_and_the_seen_mark(db, people):
    assert db.call(team.member, people["beto"]).last_activity is None
    assert db.call(team.touch, people["beto"], NOW) is True
    assert db.call(team.touch, people["beto"], NOW + timedelta(minutes=59)) is False
    assert db.call(team.member, people["beto"]).last_activity == NOW
    assert db.call(team.touch, people["beto"], NOW + timedelta(hours=1)) is True


def test_cli_people(cli, db, people):
    code, out, err = cli("people", "list")
    assert code == 0, err
    assert f"#{people['ana']} Ana López (coordinador) [303, 306]" in out
    assert "305 CONTRATACION\n" in out and "Gerentes\n" in out

    code, out, err = cli("people", "assign", str(people["ana"]), "--unit", "303", "--unit",
                         "999")
    assert code == 2 and "No existe la unidad 999" in err
    code, out, err = cli("people", "assign", str(people["beto"]), "--unit", "303",
                         "--unit", "305")
    assert code == 0 and "[303, 305]" in out
    code, out, err = cli("people", "assign", str(people["ana"]), "--unit", "306")
    assert code == 0 and "[306]" in out
    assert reminded(db) == {people["ana"]: {"306"}, people["beto"]: {"303", "305"}}

    code, out, err = cli("people", "deactivate", str(people["beto"]))
    assert code == 0 and "Persona desactivada" in out
    assert db.call(find_person, BETO) is None and reminded(db) == {people["ana"]: {"306"}}
    code, out, err = cli("people", "list")
    assert "303 FACTURACION\n  SIN RESPONSABLE" in out and "Desactivados\n" in out
    code, out, err = cli("people", "deactivate", str(people["beto"]))
    assert code == 2 and "ya estaba desactivada" in err
    code, out, err = cli("people", "deactivate", "4242")
    assert code == 2 and "No existe la persona 4242" in err
    code, out, err = cli("people", "deactivate", str(people["gerente"]))
    assert code == 2 and "último gerente activo" in err
    code, out, err = cli("people", "activate", str(people["beto"]))
    assert code == 0 and db.call(find_person, BETO) is not None

    real_now = datetime.now(UTC)  # the command line runs on the system clock
    db.call(create_invitation, role="gerente", unit_claves=[], name="Nuevo", now=real_now,
            days=7)
    [invitation] = db.call(team.pending_invitations, real_now)
    code, out, err = cli("people", "list")
    assert f"#{invitation.id} gerente (Nuevo)" in out
    code, out, err = cli("people", "revoke", str(invitation.id))
    assert code == 0 and "revocada" in out

    code, out, err = cli("people", "log")
    lines = out.splitlines()
    assert len(lines) == 5  # two assignments, deactivate, activate, revoke
    assert "administrador (línea de comandos) · revoke" in lines[0]
    assert lines[-1].endswith("assign · Beto · unidades: 305 → 303, 305")


def test_summary_names_no_responsible_for_a_unit_whose_people_are_inactive(db, people):
    """What /resumen's unit detail and ``poa-bot resumen`` print as "sin coordinador
    registrado" (bot/services/summary_pages.py, bot/commands/resumen.py)."""
    from datetime import date

    from bot.services.summary import build_summary

    def responsible(session):
        summary = build_summary(session, MARCH, today=date(2023, 4, 3))
        return {u.clave: u.responsible for u in summary.units}

    assert db.call(responsible)["303"] == ["Ana López"]
    db.call(team.deactivate, people["ana"], actor_id=None, now=NOW)
    assert db.call(responsible) == {"303": [], "305": ["Beto"], "306": []}
