from decimal import Decimal

import pytest

from bot.domain.numbers import NumberError, format_number, format_percent, parse_number


@pytest.mark.parametrize(("text", "value", "percent"), [
    ("255835", "255835", False), ("255,835", "255835", False), ("1 084", "1084", False),
    ("1\u00a0084", "1084", False), ("8.33%", "8.33", True), ("8.33", "8.33", False),
    ("120,000", "120000", False), ("1,234,567.5", "1234567.5", False), (" 0 ", "0", False),
    ("25.00 %", "25.00", True), ("+12", "12", False), (".5", "0.5", False),
    ("999999999999999", "999999999999999", False),
])
def test_parse_accepts_es_mx_forms(text, value, percent):
    parsed = parse_number(text)
    assert parsed.value == Decimal(value)
    assert parsed.percent is percent


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"), ("abc", "not_a_number"), ("-5", "negative"), ("\u22125", "negative"),
    ("1,5", "ambiguous"), ("1,50", "ambiguous"), ("12,34,567", "ambiguous"),
    ("1234567890123456", "too_long"), ("1.2.3", "malformed"), ("1.2345", "too_precise"),
    ("1e5", "not_a_number"), ("12 cortes", "not_a_number"), ("%", "not_a_number"),
    ("1.000,5", "malformed"),
])
def test_parse_refuses_with_reason(text, reason):
    with pytest.raises(NumberError) as info:
        parse_number(text)
    assert info.value.reason == reason
    assert str(info.value)  # a Spanish message for the person


def test_format_es_mx():
    assert format_number(Decimal("255835")) == "255,835"
    assert format_number(Decimal("255835.000")) == "255,835"
    assert format_number(Decimal("8.33")) == "8.33"
    assert format_number(Decimal("1234.5"), 2) == "1,234.50"
    assert format_percent(Decimal("29.716666")) == "29.72%"
    assert format_percent(None) == "—"


def test_equal_values_read_the_same_however_written_and_in_any_order():
    # Texts are kept per value (bot.domain.numbers._formatted): how a value is written must
    # not leak into another's text.
    for first, second in ((Decimal("1.50"), Decimal("1.5")), (Decimal("1E+3"), 1000),
                          (Decimal("-0"), Decimal("0.000"))):
        assert format_number(first) == format_number(second)
    assert [format_number(Decimal("-0")), format_number(Decimal("1.5"), 2),
            format_number(Decimal("1.50"))] == ["0", "1.50", "1.5"]
