from datetime import UTC, date, datetime
from decimal import Decimal

from sqlmodel import func, select

from storage.db import Database
from storage.models import Indicator, ReportedValue, Unit


def test_decimals_are_exact_and_sum_in_sql(db: Database):
    now = datetime(2023, 4, 1, 12, tzinfo=UTC)
    with db.session() as s:
        unit = Unit(clave="303", nombre="FACTURACION")
        s.add(unit)
        s.flush()
        ind = Indicator(year=2023, unit_id=unit.id, accion="A", nombre="N",
                        meta=Decimal("0.1"), frecuencia="MENSUAL")
        s.add(ind)
        s.flush()
        for month, value in ((1, "0.1"), (2, "0.2"), (3, "999999999999999")):
            s.add(ReportedValue(indicator_id=ind.id, period=f"2023-{month:02d}", year=2023,
                                period_start=date(2023, month, 1), period_end=date(2023, month, 28),
                                value=Decimal(value), meta=Decimal("0.1"), reported_at=now,
                                source="test"))
    with db.session() as s:
        total = s.exec(select(func.sum(ReportedValue.value))).one()
        assert isinstance(total, Decimal)
        assert total == Decimal("999999999999999.3")
        first = s.exec(select(ReportedValue).where(ReportedValue.period == "2023-01")).one()
        assert first.value == Decimal("0.1")
        assert first.reported_at == now and first.reported_at.tzinfo is not None


def test_migrations_match_models(db: Database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
