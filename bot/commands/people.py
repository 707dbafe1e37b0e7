"""``poa-bot people``: the team from the command line, for the administrator.

::

    poa-bot people list                       people per unit, gerentes, planeación, stand-ins,
                                              inactive, invitations
    poa-bot people deactivate ID              a stranger to the bot at once, no more reminders
    poa-bot people activate ID                back, with the role and units they had
    poa-bot people assign ID --unit 303 [--unit 306]   replace a coordinador's units
    poa-bot people revoke INVITACION          an unused invitation stops working
    poa-bot people log [--limit N]            the latest changes (who, when, what)

``ID`` is the number ``list`` shows as ``#12``. Same rules as ``/equipo`` in the chat
(:mod:`bot.services.team`); changes are logged with the administrator as author. Exit code 0
ok, 2 refused (unknown person, invitation or unit; the last gerente; ...).

A deactivated person's Telegram menu is cleared the next time the bot starts or when a
gerente changes them from the chat; whatever it shows, the bot answers them as a stranger.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from bot.clock import system_clock
from bot.services import team
from bot.services.team import Member, TeamError
from storage.models import ROLE_GERENTE

ROLE_NAMES = {"gerente": "gerente", "coordinador": "coordinador", "planeacion": "planeación"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="people_command", required=True, metavar="ACCIÓN")
    sub.add_parser("list", help="personas por unidad, gerentes, inactivos e invitaciones")
    p = sub.add_parser("deactivate", help="desactiva a una persona (deja de tener acceso)")
    p.add_argument("person", type=int, help="número de la persona (#N en «list»)")
    p = sub.add_parser("activate", help="reactiva a una persona")
    p.add_argument("person", type=int, help="número de la persona (#N en «list»)")
    p = sub.add_parser("assign", help="reemplaza las unidades de un coordinador")
    p.add_argument("person", type=int, help="número de la persona (#N en «list»)")
    p.add_argument("--unit", action="append", required=True,
                   help="clave de unidad (repetible): --unit 303 --unit 306")
    p = sub.add_parser("revoke", help="revoca una invitación sin usar")
    p.add_argument("invitation", type=int, help="número de la invitación (#N en «list»)")
    p = sub.add_parser("log", help="últimos cambios al equipo")
    p.add_argument("--limit", type=int, default=50)


def _when(at: datetime | None, settings) -> str:
    if at is None:
        return "sin actividad registrada"
    return at.astimezone(settings.timezone).strftime("%d/%m/%Y %H:%M")


def _reach(m: Member) -> str:
    if m.chat_id is None:
        return "sin chat"
    return "bloqueó el bot" if m.unreachable_since is not None else "recibe mensajes"


def member_line(m: Member, settings) -> str:
    units = f" [{', '.join(m.unit_claves)}]" if m.units else ""
    return (f"  #{m.id} {m.label} ({ROLE_NAMES.get(m.role, m.role)}){units} · "
            f"última actividad: {_when(m.last_activity, settings)} · {_reach(m)}")


def print_overview(overview: team.TeamOverview, settings) -> None:
    for unit in overview.units:
        print(f"{unit.clave} {unit.nombre}")
        if not unit.people:
            print("  SIN RESPONSABLE")
        for m in unit.people:
            print(member_line(m, settings))
        for stand_in, absent, ends in unit.covering:
            print(f"  suple: {stand_in} (por {absent}, hasta el {ends:%d/%m/%Y})")
    if overview.without_units:
        print("Coordinadores sin unidad")
        for m in overview.without_units:
            print(member_line(m, settings))
    print("Gerentes")
    for m in overview.gerentes:
        print(member_line(m, settings))
    if not overview.gerentes:
        print("  NINGUNO (invita uno: poa-bot invite --role gerente)")
    if overview.planeacion:
        print("Planeación / dirección")
        for m in overview.planeacion:
            print(member_line(m, settings))
    if overview.stand_ins:
        print("Suplencias (vigentes y próximas)")
        for v in overview.stand_ins:
            what = ("como gerente" if v.absent_role == ROLE_GERENTE
                    else f"unidad {v.unit_clave}" if v.unit_clave else "todas sus unidades")
            print(f"  #{v.id} {v.stand_in_name} suple a {v.person_name} ({what}) "
                  f"del {v.starts:%d/%m/%Y} al {v.ends:%d/%m/%Y}")
    if overview.inactive:
        print("Desactivados")
        for m in overview.inactive:
            print(member_line(m, settings))
    if overview.invitations:
        print("Invitaciones sin usar")
        for inv in overview.invitations:
            who = inv.role + (f" de {', '.join(inv.unit_claves)}" if inv.unit_claves else "")
            name = f" ({inv.name})" if inv.name else ""
            print(f"  #{inv.id} {who}{name} · vence el {_when(inv.expires_at, settings)}")


def run(args, settings, db) -> int:
    now = system_clock()
    command = args.people_command
    try:
        if command == "list":
            print_overview(db.call(team.team_overview, now,
                                   now.astimezone(settings.timezone).date()), settings)
        elif command == "log":
            for event in db.call(team.events, args.limit):
                print(f"{_when(event.at, settings)} · {event.actor} · {event.action}"
                      + (f" · {event.person}" if event.person else "")
                      + (f" · {event.detail}" if event.detail else ""))
        elif command == "revoke":
            db.call(team.revoke_invitation, args.invitation, actor_id=None, now=now)
            print(f"Invitación #{args.invitation} revocada: ya no sirve para registrarse.")
        else:
            change = {"deactivate": team.deactivate, "activate": team.activate}.get(command)
            if change is not None:
                m = db.call(change, args.person, actor_id=None, now=now)
                verb = "desactivada" if command == "deactivate" else "reactivada"
            else:
                m = db.call(team.assign_units, args.person, args.unit, actor_id=None, now=now)
                verb = "actualizada"
            print(f"Persona {verb}:")
            print(member_line(m, settings))
    except TeamError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    return 0
