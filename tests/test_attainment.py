"""The attainment engine, rule by rule (pure functions, no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.attainment import (
    Bands,
    Status,
    aggregate_values,
    completeness,
    cumulative_progress,
    expected_progress,
    is_due,
    is_overdue,
    is_share_of_year,
    line_status,
    percent_attainment,
    period_attainment,
    reporting_deadline,
    status_for,
    timeliness,
)
from bot.domain.numbers import round_display
from bot.domain.periods import Period, period_from_code


def _period(code: str) -> Period:
    return period_from_code(code)

# --- period attainment -----------------------------------------------------------------


@pytest.mark.parametrize(("value", "meta", "expected"), [
    (D(150), D(150), D(100)),
    (D(235), D(150), D(235) * 100 / D(150)),
    (D(0), D(150), D(0)),
    (D("0.5"), D(2), D(25)),
    (D(81018), D(60000), D("135.03")),
])
def test_period_attainment_is_value_over_meta_in_points(value, meta, expected):
    assert period_attainment(value, meta) == expected


def test_period_attainment_is_none_for_a_zero_meta():
    assert period_attainment(D(5), D(0)) is None
    assert period_attainment(D(0), D(0)) is None


def test_period_attainment_keeps_full_precision():
    result = period_attainment(D(1), D(3))
    assert result == D(100) / D(3)
    assert result != round_display(result)
    assert round_display(result) == D("33.33")


# --- cumulative progress ---------------------------------------------------------------


def test_cumulative_sum_divides_by_the_annual_target():
    # 306 SUSPENSION (ene 770, feb 812, mar 1064, meta 1100 mensual) -> report 20.04
    result = cumulative_progress([D(770), D(812), D(1064)], D(1100), 12, "sum")
    assert result == D(2646) * 100 / D(13200)
    assert round_display(result) == D("20.05")


def test_cumulative_sum_quarterly_and_semiannual_targets():
    assert cumulative_progress([D(773)], D(750), 4, "sum") == D(773) * 100 / D(3000)
    assert cumulative_progress([D(1)], D(1), 2, "sum") == D(50)


def test_cumulative_sum_of_nothing_is_zero_progress():
    assert cumulative_progress([], D(10), 12, "sum") == D(0)


def test_cumulative_sum_with_zero_meta_is_none():
    assert cumulative_progress([D(3)], D(0), 12, "sum") is None


def test_cumulative_last_is_the_last_value_already_a_percentage():
    assert cumulative_progress([D("8.33"), D("16.66"), D("25.00")], D("8.33"), 12,
                               "last") == D("25.00")
    assert cumulative_progress([], D("8.33"), 12, "last") is None
    # the meta does not matter for a percentage, even a zero one
    assert cumulative_progress([D(40)], D(0), 12, "last") == D(40)


def test_cumulative_rejects_an_unknown_aggregation():
    with pytest.raises(ValueError):
        cumulative_progress([D(1)], D(1), 12, "avg")


@given(st.lists(st.decimals(min_value=0, max_value=10**9, places=3), max_size=12),
       st.decimals(min_value=D("0.001"), max_value=10**6, places=3))
def test_cumulative_sum_equals_period_attainment_share(values, meta):
    """Σ/(meta×12) is the monthly attainments' sum ÷ 12 (to Decimal's 28 digits)."""
    cumulative = cumulative_progress(values, meta, 12, "sum")
    parts = sum((period_attainment(v, meta) for v in values), D(0))
    assert abs(cumulative - parts / 12) <= (abs(cumulative) + 1) * D("1e-24")


# --- aggregation over a longer period ----------------------------------------------------


def test_aggregate_values_sums_counts_and_keeps_the_last_percentage():
    assert aggregate_values([D(45), D(43), D(31)], "sum") == D(119)
    assert aggregate_values([D("8.33"), D("16.66"), D(25)], "last") == D(25)
    assert aggregate_values([], "sum") is None
    assert aggregate_values([], "last") is None


# --- percentage indicators -------------------------------------------------------------


def test_share_of_year_meta_is_recognised():
    assert is_share_of_year(D("8.33"), 12)
    assert is_share_of_year(D(25), 4)
    assert is_share_of_year(D(50), 2)
    assert not is_share_of_year(D(95), 12)
    assert not is_share_of_year(D("8.33"), 4)


def test_share_of_year_percentage_compares_with_the_accumulated_meta():
    # 306 INSPECCION: 8.33 % a month, reported 8.33, 16.66, 25.00 -> on target each month
    assert percent_attainment(D("8.33"), D("8.33"), 12, 1) == D(100)
    assert percent_attainment(D("16.66"), D("8.33"), 12, 2) == D(100)
    march = percent_attainment(D("25.00"), D("8.33"), 12, 3)
    assert round_display(march) == D("100.04")
    assert status_for(march) is Status.ABOVE


def test_rate_percentage_compares_with_its_meta():
    assert percent_attainment(D(93), D(95), 12, 3) == D(93) * 100 / D(95)
    assert percent_attainment(D(93), D(0), 12, 3) is None


# --- expected progress -------------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), [
    ("2023-01", D(100) / 12),
    ("2023-02", D(200) / 12),
    ("2023-03", D(25)),
    ("2023-Q1", D(25)),
    ("2023-Q2", D(50)),
    ("2023-S1", D(50)),
    ("2023-Q4", D(100)),
    ("2023-S2", D(100)),
    ("2023-12", D(100)),
    ("2023", D(100)),
])
def test_expected_progress_is_the_share_of_the_year_elapsed(code, expected):
    assert expected_progress(_period(code)) == expected


def test_expected_progress_of_january_displays_as_8_33():
    assert round_display(expected_progress(_period("2023-01"))) == D("8.33")


# --- status bands --------------------------------------------------------------------------


@pytest.mark.parametrize(("attainment", "status"), [
    (D("100.0001"), Status.ABOVE),
    (D(235), Status.ABOVE),
    (D(100), Status.ON_TARGET),
    (D("99.9999"), Status.CLOSE),  # displays as 100.00 % but is not 100 %
    (D(80), Status.CLOSE),
    (D("79.9999"), Status.BEHIND),
    (D(0), Status.BEHIND),
    (None, Status.ON_TARGET),
])
def test_default_bands_edges(attainment, status):
    assert status_for(attainment) is status


def test_configurable_bands_widen_on_target_and_close():
    bands = Bands(green=D(95), yellow=D(70))
    assert status_for(D(95), bands) is Status.ON_TARGET
    assert status_for(D(100), bands) is Status.ON_TARGET
    assert status_for(D("94.99"), bands) is Status.CLOSE
    assert status_for(D(70), bands) is Status.CLOSE
    assert status_for(D("69.99"), bands) is Status.BEHIND
    assert status_for(D("100.01"), bands) is Status.ABOVE


def test_bands_accept_numbers_and_reject_inverted_or_out_of_range():
    assert Bands(green=90, yellow=50).green == D(90)
    for green, yellow in ((80, 90), (101, 80), (100, -1)):
        with pytest.raises(ValueError):
            Bands(green=D(green), yellow=D(yellow))


def test_line_status_missing_not_due_and_zero_meta():
    assert line_status(None, None, due=True, complete=False) is Status.MISSING
    # a due period missing beats a partial value
    assert line_status(D(10), D(50), due=True, complete=False) is Status.MISSING
    assert line_status(None, None, due=False, complete=True) is Status.NOT_DUE
    # reported early, banded as usual
    assert line_status(D(1), D(100), due=False, complete=True) is Status.ON_TARGET
    assert line_status(D(5), None, due=True, complete=True) is Status.ABOVE
    assert line_status(D(0), None, due=True, complete=True) is Status.ON_TARGET
    assert line_status(D(70), D(70), due=True, complete=True,
                       bands=Bands(green=D(90), yellow=D(60))) is Status.CLOSE


def test_status_labels_are_spanish_and_codes_stable():
    assert [s.value for s in Status] == ["above", "on_target", "close", "behind",
                                         "missing", "not_due"]
    assert Status.MISSING.label == "Sin reportar"
    assert all(s.label and s.light for s in Status)


# --- completeness and timeliness -------------------------------------------------------------


def test_completeness_and_timeliness_ratios():
    assert completeness(23, 24) == D(23) / D(24)
    assert completeness(0, 5) == D(0)
    assert completeness(5, 5) == D(1)
    assert completeness(0, 0) is None
    assert timeliness(3, 4) == D("0.75")
    assert timeliness(0, 0) is None
    with pytest.raises(ValueError):
        completeness(3, 2)
    with pytest.raises(ValueError):
        timeliness(-1, 2)


# --- deadlines ---------------------------------------------------------------------------------


def test_deadline_is_the_deadline_day_of_the_following_month():
    assert reporting_deadline(_period("2023-03"), 5) == date(2023, 4, 5)
    assert reporting_deadline(_period("2023-Q1"), 5) == date(2023, 4, 5)
    assert reporting_deadline(_period("2023-12"), 10) == date(2024, 1, 10)
    assert reporting_deadline(_period("2023-S2"), 5) == date(2024, 1, 5)
    assert reporting_deadline(_period("2023-01"), 28) == date(2023, 2, 28)


def test_due_after_the_period_ends_and_overdue_after_the_deadline():
    march = _period("2023-03")
    assert not is_due(march, date(2023, 3, 31))
    assert is_due(march, date(2023, 4, 1))
    assert not is_overdue(march, date(2023, 4, 5), 5)
    assert is_overdue(march, date(2023, 4, 6), 5)
