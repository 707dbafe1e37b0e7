"""The review states the export's «Revisión» sheet shows (issue 12, approval cycle on).

For each unit of the export and each of its section periods (a quarter: its months and the
quarter itself), the :class:`~storage.models.UnitPeriodApproval` state (``capturando`` when
there is no row), who changed it last, when (in the bot's time zone) and the comment. One
query whatever the number of units.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, tzinfo

from sqlmodel import Session, col, select

from bot.domain.periods import Period
from bot.poa_report.review_sheet import ReviewRow
from bot.services.approval import CAPTURANDO
from storage.models import Person, Unit, UnitPeriodApproval


def review_rows(session: Session, unit_periods: Iterable[tuple[Unit, Period]],
                timezone: tzinfo = UTC) -> tuple[ReviewRow, ...]:
    """One row per (unit, period), in the given order."""
    pairs = list(dict.fromkeys((unit.id, unit.clave, unit.nombre, period)
                               for unit, period in unit_periods))
    if not pairs:
        return ()
    statement = (select(UnitPeriodApproval, Person.name)
                 .outerjoin(Person, col(Person.id) == col(UnitPeriodApproval.changed_by_id))
                 .where(col(UnitPeriodApproval.unit_id).in_(sorted({p[0] for p in pairs})),
                        col(UnitPeriodApproval.period).in_(sorted({p[3].code
                                                                   for p in pairs}))))
    found = {(row.unit_id, row.period): (row, name) for row, name in session.exec(statement)}
    result = []
    for unit_id, clave, nombre, period in pairs:
        row, name = found.get((unit_id, period.code), (None, None))
        if row is None:
            result.append(ReviewRow(clave, nombre, period.short_label, CAPTURANDO))
            continue
        at = row.changed_at.astimezone(timezone).replace(tzinfo=None)
        by = (name or f"persona {row.changed_by_id}") if row.changed_by_id else ""
        result.append(ReviewRow(clave, nombre, period.short_label, row.state, by, at,
                                row.comment or ""))
    return tuple(result)
