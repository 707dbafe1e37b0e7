"""Reading what people type, per indicator (bot.domain.typed_figures)."""

from decimal import Decimal as D

import pytest

from bot.domain.numbers import format_number
from bot.domain.periods import Period
from bot.domain.plausibility import FAR_FROM_META, FRACTION, PERIOD_SHARE
from bot.domain.typed_figures import Choice, FigureRules, Reading, Refusal, read_figure

MARCH = Period.month(2023, 3)
OCTOBER = Period.month(2023, 10)
RECIBOS = FigureRules(False, D("255835"), "RECIBOS", MARCH)  # a count
INSPECCIONES = FigureRules(False, D("150"), "INSPECCIONES", MARCH)
PESOS = FigureRules(False, D("1250.50"), "PESOS", MARCH)  # not a count: fractional meta
INSPECCION_PCT = FigureRules(True, D("8.33"), "%", OCTOBER)  # share of the year, cumulative
RATE_PCT = FigureRules(True, D("95"), "%", OCTOBER)  # a rate, not a share of the year


@pytest.mark.parametrize(("text", "thousands", "decimal"), [
    ("3.040", "3040", "3.040"), ("1.084", "1084", "1.084"), ("255.835", "255835", "255.835"),
    ("3.040 recibos", "3040", "3.040"), ("150.000", "150000", "150.000"),
])
def test_one_dot_and_three_digits_on_a_count_offers_both_readings(text, thousands, decimal):
    result = read_figure(text, RECIBOS)
    assert result == Choice(text.split()[0], (D(thousands), D(decimal)))
    # Also on an indicator that is not a count: the text itself is ambiguous.
    assert isinstance(read_figure(text, PESOS), Choice)


@pytest.mark.parametrize(("text", "value"), [
    ("1.250.000", "1250000"), ("12.345.678", "12345678"), ("1.250.000 lecturas", "1250000"),
])
def test_several_dot_groups_are_thousands_and_the_reading_says_so(text, value):
    result = read_figure(text, RECIBOS)
    assert isinstance(result, Reading) and result.value == D(value)
    assert result.note == (f"Leí «{text.split()[0]}» como {format_number(D(value))}: "
                           "los puntos separan miles.")


@pytest.mark.parametrize(("text", "value"), [
    ("0.250", "0.250"),  # a leading zero is no thousands group
    ("3.5", "3.5"), ("12.75", "12.75"), ("3,040", "3040"), ("1,250.5", "1250.5"),
])
def test_other_dots_are_decimals(text, value):
    assert read_figure(text, RECIBOS) == Reading(D(value))


def test_a_fraction_on_a_count_is_asked_unless_it_was_picked():
    assert RECIBOS.counts and INSPECCIONES.counts
    assert not PESOS.counts and not INSPECCION_PCT.counts
    assert INSPECCIONES.check(D("150.5"), []).reasons == (FRACTION,)
    assert INSPECCIONES.check(D("150.5"), [], chosen=True).ok
    assert INSPECCIONES.check(D("150"), []).ok
    assert PESOS.check(D("1250.5"), []).ok


@pytest.mark.parametrize("text", ["8,33", "8,33 %", "8,33%", "8.33", "8.33%", "8.33 %",
                                  "8.33 por ciento", "8,33 % de avance"])
def test_percent_indicators_read_a_decimal_comma(text):
    assert read_figure(text, INSPECCION_PCT) == Reading(D("8.33"))


def test_percent_with_three_decimals_is_kept_and_dots_are_decimals_there():
    assert read_figure("83,333", INSPECCION_PCT) == Reading(D("83.333"))
    assert read_figure("1.084", RATE_PCT) == Reading(D("1.084"))


def test_a_decimal_comma_on_a_count_stays_refused_and_says_how_to_write_it():
    result = read_figure("1,5", INSPECCIONES)
    assert isinstance(result, Refusal)
    assert "ambiguo" in result.message and "1,250" in result.message and "1.5" in result.message


@pytest.mark.parametrize(("text", "value"), [
    ("115 reconexiones", "115"), ("1,084 cortes", "1084"), ("3251 recibos", "3251"),
    ("1 084 cortes", "1084"), ("255835 RECIBOS.", "255835"), ("120 aprox", "120"),
])
def test_a_number_followed_by_words_is_the_number(text, value):
    assert read_figure(text, INSPECCIONES) == Reading(D(value))


@pytest.mark.parametrize("text", ["mil", "quinientos", "mil quinientos", "5 mil", "3 millones",
                                  "doscientos cuarenta", "veintidós", "5k"])
def test_spelled_numbers_are_refused_with_an_example(text):
    result = read_figure(text, INSPECCIONES)
    assert isinstance(result, Refusal)
    assert "con números, no con palabras" in result.message
    assert "Por ejemplo: 1250, 1,250 o 1,250 inspecciones." in result.message


@pytest.mark.parametrize("text", ["muchas", "son 115", "5 3", "1e5", "0b101", "1'000",
                                  "١٢٣٬٤٥٦", "%", "", "   ", "x" * 300, "5 o 6 recibos"])
def test_text_that_is_no_figure_is_refused_with_an_example(text):
    result = read_figure(text, INSPECCIONES)
    assert isinstance(result, Refusal) and "Por ejemplo" in result.message


@pytest.mark.parametrize(("text", "fragment"), [
    ("-5", "negativo"), ("1234567890123456", "15 dígitos"), ("1.2345", "3 decimales"),
    ("8.33%", "no en porcentaje"), ("8 por ciento", "no en porcentaje"),
])
def test_number_errors_keep_their_reason_and_add_an_example(text, fragment):
    result = read_figure(text, INSPECCIONES)
    assert isinstance(result, Refusal)
    assert fragment in result.message and "Por ejemplo" in result.message


def test_share_of_year_meta_to_the_period_and_the_monthly_share_typed_as_cumulative():
    assert INSPECCION_PCT.share_of_year and not RATE_PCT.share_of_year
    assert INSPECCION_PCT.meta_to_period == D("83.30")  # 8.33 × 10, as attainment judges it
    assert RATE_PCT.meta_to_period is None
    assert INSPECCION_PCT.check(D("8.33"), []).reasons == (PERIOD_SHARE,)
    assert INSPECCION_PCT.check(D("83.33"), []).ok
    assert INSPECCION_PCT.check(D("40"), []).ok  # behind, but cumulative
    january = FigureRules(True, D("8.33"), "%", Period.month(2023, 1))
    assert january.check(D("8.33"), []).ok  # in January the month is the year so far
    assert RATE_PCT.check(D("8.33"), []).ok  # a rate is not cumulative
    quarterly = FigureRules(True, D("25"), "%", Period.quarter(2023, 3))
    assert quarterly.check(D("25"), []).reasons == (PERIOD_SHARE,)
    assert quarterly.meta_to_period == D("75")


def test_other_reasons_still_apply():
    assert INSPECCIONES.check(D("3040"), []).reasons == (FAR_FROM_META,)
