from datetime import date

import pytest

from bot.domain.resumen_args import (
    ArgumentsError,
    most_recent_closed_month,
    parse_summary_args,
)
from bot.telegram_standin.server import parse_html

TODAY = date(2023, 4, 12)


@pytest.mark.parametrize(("words", "code", "unit"), [
    ([], "2023-03", None),
    (["2023-03"], "2023-03", None),
    (["mar-23"], "2023-03", None),
    (["marzo"], "2023-03", None),
    (["Marzo", "2023"], "2023-03", None),
    (["2023", "marzo"], "2023-03", None),
    (["T1"], "2023-Q1", None),
    (["2023-T1"], "2023-Q1", None),
    (["2023-Q1"], "2023-Q1", None),
    (["t1", "2023"], "2023-Q1", None),
    (["S1"], "2023-S1", None),
    (["2023"], "2023", None),
    (["2022"], "2022", None),
    (["303"], "2023-03", "303"),
    (["303", "mar-23"], "2023-03", "303"),
    (["mar-23", "303"], "2023-03", "303"),
    (["2023", "303", "T1"], "2023-Q1", "303"),
    (["303 2023-T1"], "2023-Q1", "303"),  # one string with both, as PTB may give
    (["enero,", "2023"], "2023-01", None),
])
def test_accepted_forms_in_any_order(words, code, unit):
    args = parse_summary_args(words, today=TODAY)
    assert (args.period.code, args.unit_clave) == (code, unit)


def test_default_is_the_last_closed_month_and_flagged():
    assert not parse_summary_args([], today=TODAY).explicit_period
    assert parse_summary_args(["T1"], today=TODAY).explicit_period
    assert most_recent_closed_month(date(2024, 1, 3)).code == "2023-12"
    assert most_recent_closed_month(date(2023, 3, 31)).code == "2023-02"


def test_a_bare_month_still_to_come_means_last_year():
    assert parse_summary_args(["diciembre"], today=date(2024, 2, 2)).period.code == "2023-12"
    assert parse_summary_args(["enero"], today=date(2024, 2, 2)).period.code == "2024-01"


def test_known_non_numeric_claves_are_units():
    args = parse_summary_args(["303a", "mar-23"], today=TODAY, known_units=["303A"])
    assert args.unit_clave == "303A"


@pytest.mark.parametrize(("words", "fragment"), [
    (["foo"], "No entendí «foo»"),
    (["2023-13"], "No entendí"),
    (["mar-23", "abr-23"], "un solo periodo"),
    (["303", "305"], "una sola unidad"),
    (["2022", "2023"], "dos años"),
    (["mar-23", "2022"], "ya dice el año"),
    (["2023-06"], "aún no comienza"),
    (["2024"], "aún no comienza"),
    (["<b>"], "No entendí «&lt;b&gt;»"),
])
def test_bad_arguments_explain_the_accepted_forms(words, fragment):
    with pytest.raises(ArgumentsError) as caught:
        parse_summary_args(words, today=TODAY)
    message = str(caught.value)
    assert fragment in message
    for form in ("2023-03", "mar-23", "marzo", "T1", "2023-T1", "2023-Q1", "S1", "303"):
        assert form in message
    parse_html(message)  # valid Telegram HTML: every user text is escaped


def test_export_takes_no_unit():
    assert parse_summary_args(["2023-T1"], today=TODAY, command="exportar",
                              allow_unit=False).period.code == "2023-Q1"
    with pytest.raises(ArgumentsError) as caught:
        parse_summary_args(["303"], today=TODAY, command="exportar", allow_unit=False)
    assert "/exportar no lleva unidad" in str(caught.value)
    assert "303" not in str(caught.value).split("Formas aceptadas")[1]
