"""bot.services.batch_entry: all of a unit's values in one message, read piece by piece with
the same rules as a value typed alone. Pure: no database, no bot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain.periods import Period
from bot.domain.typed_figures import Choice, FigureRules, Reading
from bot.services.batch_entry import (
    MAX_BATCH_TYPED,
    BatchRefusal,
    BatchValue,
    read_batch,
    split_answer,
)

MARCH = Period.month(2023, 3)
RECONEXIONES = FigureRules(False, Decimal("150"), "RECONEXIONES", MARCH)
RECIBOS = FigureRules(False, Decimal("3300"), "RECIBOS", MARCH)
AVANCE = FigureRules(True, Decimal("8.33"), "%", MARCH)  # a % indicator
RULES = [RECONEXIONES, RECIBOS, AVANCE]


def values(result) -> list[Decimal]:
    assert isinstance(result, list), result
    assert all(isinstance(v, BatchValue) and isinstance(v.figure, Reading) for v in result)
    return [v.figure.value for v in result]


@pytest.mark.parametrize("text", [
    "1084 115 8.33",
    "1084  115\t8.33",  # any run of spaces or tabs
    "1084\n115\n8.33",  # one per line
    "\n1084\n\n 115 \n8.33\n",  # blank lines and stray spaces ignored
    "1,084 115 8.33%",  # commas for thousands, a % sign on the % indicator
])
def test_space_or_line_separated(text):
    result = read_batch(text, RULES)
    assert values(result) == [Decimal("1084"), Decimal("115"), Decimal("8.33")]
    assert [v.position for v in result] == [1, 2, 3]


def test_a_line_may_hold_a_figure_with_spaces_for_thousands():
    result = read_batch("1 084\n3 300\n8.33", RULES)  # one per line: spaces are thousands
    assert values(result) == [Decimal("1084"), Decimal("3300"), Decimal("8.33")]


def test_words_after_a_number_stay_with_it():
    assert split_answer("115 reconexiones 3,040 recibos 8.33 % de avance") == [
        "115 reconexiones", "3,040 recibos", "8.33 % de avance"]
    result = read_batch("115 reconexiones 3,040 recibos 8.33 % de avance", RULES)
    assert values(result) == [Decimal("115"), Decimal("3040"), Decimal("8.33")]
    assert [v.typed for v in result] == ["115 reconexiones", "3,040 recibos",
                                         "8.33 % de avance"]


def test_a_decimal_comma_on_a_percent_indicator():
    result = read_batch("115 3300 8,33", RULES)
    assert values(result)[2] == Decimal("8.33")
    result = read_batch("115 3300 8,33 %", RULES)
    assert values(result)[2] == Decimal("8.33")


def test_an_ambiguous_dot_on_a_count_is_a_choice_asked_later():
    result = read_batch("115 3.040 8.33", RULES)
    assert isinstance(result, list)
    second = result[1]
    assert second.typed == "3.040" and isinstance(second.figure, Choice)
    assert second.figure.readings == (Decimal("3040"), Decimal("3.04"))
    assert isinstance(result[0].figure, Reading) and isinstance(result[2].figure, Reading)


@pytest.mark.parametrize(("text", "typed", "fragment"), [
    ("1084 -5 8.33", "-5", "negativo"),
    ("1084 115 mil 8.33", "115 mil", "con números, no con palabras"),
    ("1084 1,5 8.33", "1,5", "ambiguo"),
])
def test_one_bad_value_refuses_the_whole_answer_naming_it(text, typed, fragment):
    result = read_batch(text, RULES)
    assert isinstance(result, BatchRefusal)
    assert "No guardé nada" in result.message
    assert f"El valor 2 («{typed}»)" in result.message and fragment in result.message


def test_a_percent_sign_on_a_count_is_refused():
    result = read_batch("8.33% 3300 8.33", RULES)
    assert isinstance(result, BatchRefusal) and result.message.startswith("El valor 1")


@pytest.mark.parametrize(("text", "typed_count"), [
    ("1084 115", 2),
    ("1084 115 8.33 9", 4),
    ("1084\n115", 2),
])
def test_a_wrong_count_is_refused_with_both_counts(text, typed_count):
    result = read_batch(text, RULES)
    assert isinstance(result, BatchRefusal)
    assert f"Escribiste {typed_count} valores y te faltan 3 indicadores" in result.message
    assert "No guardé nada" in result.message
    assert "miles" not in result.message  # no space inside a figure here


def test_a_wrong_count_caused_by_a_space_for_thousands_says_how_to_write_them():
    result = read_batch("1 084 115 8.33", RULES)
    assert isinstance(result, BatchRefusal)
    assert "Escribiste 4 valores" in result.message
    assert "Para miles usa coma (1,084), no espacio." in result.message


@pytest.mark.parametrize("text", [
    "115",  # one value: the one-at-a-time flow answers the first indicator
    "115 reconexiones",
    "1 084",  # one figure with a space for thousands
    "12 250 000 300 cortes",  # 4 pieces for 3 pending, yet one figure: 12,250,000,300
    "muchas gracias",  # text: one piece, refused by the one-value flow with its example
    "",
])
def test_a_single_value_or_text_is_not_a_batch(text):
    assert read_batch(text, RULES) is None


def test_with_a_single_pending_indicator_nothing_is_a_batch():
    assert read_batch("1 2", [RECONEXIONES]) is None
    assert read_batch("115 3300 8.33", [RECONEXIONES]) is None


def test_text_among_the_numbers_is_refused_not_guessed():
    result = read_batch("ya quedó 115 3300", RULES)
    assert isinstance(result, BatchRefusal)
    assert "El valor 1 («ya quedó»)" in result.message and "no es un número" in result.message


def test_a_matching_count_is_read_as_a_list_and_confirmed_on_the_table():
    # "120 900 300" may be three values or 120,900,300: with three pending it is the list,
    # which the confirmation table shows before anything is saved.
    assert values(read_batch("120 900 300", RULES)) == [Decimal("120"), Decimal("900"),
                                                        Decimal("300")]


def test_an_answer_too_long_to_be_a_list_is_refused():
    result = read_batch("1 " * (MAX_BATCH_TYPED // 2 + 1), RULES)
    assert isinstance(result, BatchRefusal) and "demasiado largo" in result.message
