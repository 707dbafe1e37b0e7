"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator

SCALE = 3  # decimals kept; the number parser refuses more


class ExactDecimal(TypeDecorator):
    """A Decimal stored exactly on every database.

    PostgreSQL gets NUMERIC(18, 3). SQLite's NUMERIC affinity stores REAL (a binary float),
    which would turn 0.1 into 0.1000000000000000055..., so there the value is kept as an
    integer count of thousandths. Either way SUM() in SQL is exact and comes back as Decimal.
    """

    impl = Numeric(18, SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, SCALE, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        if dialect.name != "sqlite":
            return value
        scaled = value.scaleb(SCALE)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {SCALE} decimals")
        return int(scaled)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _from_thousandths(value)
        return Decimal(value)

    def result_processor(self, dialect, coltype):
        # The summary reads ~60,000 of these per state-wide year: TypeDecorator's generic
        # wrapper around process_result_value cost 4× the conversion itself on SQLite.
        if dialect.name == "sqlite":
            return _from_thousandths
        return super().result_processor(dialect, coltype)


def _from_thousandths(value):
    return None if value is None else Decimal(int(value)).scaleb(-SCALE)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite forgets the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
