"""The ficha's rules (bot/domain/fichas.py): direction, two-sided semáforo, accumulation."""

from decimal import Decimal as D

import pytest

from bot.domain.attainment import Status
from bot.domain.fichas import (
    Acumulacion,
    FichaRules,
    Semaforo,
    Sentido,
    accumulate,
    attainment,
    default_acumulacion,
    expected_progress,
    is_off_green,
    state,
)

REGULAR = FichaRules(Sentido.REGULAR, Acumulacion.ULTIMO,
                     Semaforo(D(95), D(85), green_max=D(105), yellow_max=D(115)))
DESCENDING = FichaRules(Sentido.DESCENDENTE, Acumulacion.SUMA, Semaforo(D(100), D(80)))


@pytest.mark.parametrize("value,expected", [
    (D(100), Status.ON_TARGET), (D(95), Status.ON_TARGET), (D(105), Status.ON_TARGET),
    (D("94.999"), Status.CLOSE), (D(85), Status.CLOSE), (D("105.001"), Status.CLOSE),
    (D(115), Status.CLOSE), (D("115.001"), Status.BEHIND), (D("84.999"), Status.BEHIND),
])
def test_regular_is_judged_on_both_sides(value, expected):
    assert state(value, D(100), REGULAR) == expected


@pytest.mark.parametrize("value,expected_pct,expected", [
    (D(0), D(200), Status.ABOVE),  # nothing pending: twice as good as the meta
    (D(50), D(150), Status.ABOVE),
    (D(100), D(100), Status.ON_TARGET),
    (D(120), D(80), Status.CLOSE),
    (D("120.001"), D("79.999"), Status.BEHIND),
    (D(250), D(0), Status.BEHIND),  # floored: never a negative attainment
])
def test_descending_attainment_is_two_minus_the_ratio(value, expected_pct, expected):
    assert attainment(value, D(100), Sentido.DESCENDENTE) == expected_pct
    assert state(value, D(100), DESCENDING) == expected


def test_zero_meta_is_met_only_by_zero_when_less_is_better():
    assert state(D(0), D(0), DESCENDING) == Status.ON_TARGET
    assert state(D(1), D(0), DESCENDING) == Status.BEHIND
    assert state(D(3), D(0), FichaRules()) == Status.ABOVE


def test_regular_needs_a_two_sided_semaforo():
    with pytest.raises(ValueError):
        FichaRules(Sentido.REGULAR, Acumulacion.ULTIMO, Semaforo(D(95), D(85)))
    with pytest.raises(ValueError):
        Semaforo(D(95), D(85), green_max=D(120), yellow_max=D(110))


def test_defaults_are_todays_rules():
    assert default_acumulacion("sum", D(3000), 12) is Acumulacion.SUMA
    assert default_acumulacion("last", D("8.33"), 12) is Acumulacion.ACUMULADO
    assert default_acumulacion("last", D(95), 12) is Acumulacion.ULTIMO
    assert state(D(80), D(100), FichaRules()) == Status.CLOSE
    assert is_off_green(Status.CLOSE) and not is_off_green(Status.ABOVE)


def test_accumulations():
    values = [D(10), D(20), D(60)]
    assert accumulate(values, Acumulacion.SUMA) == D(90)
    assert accumulate(values, Acumulacion.PROMEDIO) == D(30)
    assert accumulate(values, Acumulacion.ULTIMO) == D(60)
    assert accumulate([], Acumulacion.SUMA) is None


def test_expected_progress_follows_the_calendarised_metas():
    even = {month: D(100) for month in range(1, 13)}
    assert expected_progress(even, 3, Acumulacion.SUMA) == D(25)
    seasonal = {**even, 1: D(400), 2: D(400)}  # busy start of the year
    assert expected_progress(seasonal, 2, Acumulacion.SUMA) == D(800) * 100 / D(1800)
