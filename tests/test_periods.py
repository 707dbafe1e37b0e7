from datetime import date

import pytest

from bot.domain.periods import Frequency, Period, PeriodError, parse_period, period_from_code


@pytest.mark.parametrize(("text", "code"), [
    ("2023-03", "2023-03"), ("mar-23", "2023-03"), ("marzo 2023", "2023-03"),
    ("MAR-23", "2023-03"), ("03/2023", "2023-03"), ("ene-23", "2023-01"),
    ("2023-Q1", "2023-Q1"), ("2023-T1", "2023-Q1"), ("PRIMER TRIMESTRE 2023", "2023-Q1"),
    ("SEGUNDO SEMESTRE 2023", "2023-S2"), ("2023-S1", "2023-S1"), ("2023", "2023"),
    ("  primer   trimestre  2023 ", "2023-Q1"), ("diciembre 2022", "2022-12"),
])
def test_parse_period_forms(text, code):
    assert parse_period(text).code == code


def test_default_year_for_short_forms():
    assert parse_period("T2", default_year=2024).code == "2024-Q2"
    assert parse_period("marzo", default_year=2024).code == "2024-03"
    with pytest.raises(PeriodError):
        parse_period("marzo")


@pytest.mark.parametrize("text", ["", "2023-13", "2023-Q5", "foo", "13-2023", "2023-S3"])
def test_parse_period_rejects(text):
    with pytest.raises(PeriodError):
        parse_period(text)


def test_period_bounds_and_navigation():
    feb = Period.month(2024, 2)
    assert feb.end == date(2024, 2, 29)
    assert Period.month(2023, 12).next() == Period.month(2024, 1)
    assert Period.quarter(2023, 1).previous() == Period.quarter(2022, 4)
    assert Period.quarter(2023, 1).end == date(2023, 3, 31)
    assert Period.half(2023, 2).start == date(2023, 7, 1)
    assert Period.containing(date(2023, 8, 15), Frequency.QUARTERLY).code == "2023-Q3"
    assert [p.code for p in Period.quarter(2023, 1).subperiods(Frequency.MONTHLY)] == [
        "2023-01", "2023-02", "2023-03"]
    assert [p.code for p in Period.whole_year(2023).subperiods(Frequency.SEMIANNUAL)] == [
        "2023-S1", "2023-S2"]
    assert Period.quarter(2023, 1).subperiods(Frequency.SEMIANNUAL) == [Period.half(2023, 1)]
    assert [p.year_before().code for p in (Period.month(2024, 2), Period.quarter(2023, 4),
                                          Period.half(2023, 1), Period.whole_year(2023))] == [
        "2023-02", "2022-Q4", "2022-S1", "2022"]


def test_labels_round_trip():
    for period in (Period.month(2023, 1), Period.quarter(2023, 1), Period.half(2023, 2)):
        assert parse_period(period.short_label) == period
        assert period_from_code(period.code) == period
    assert Period.month(2023, 1).short_label == "ene-23"
    with pytest.raises(PeriodError):
        period_from_code("mar-23")


def test_frequency_parse():
    assert Frequency.parse(" mensual ") is Frequency.MONTHLY
    assert Frequency.parse("TRIMESTRAL").periods_per_year == 4
    with pytest.raises(ValueError):
        Frequency.parse("QUINCENAL")
