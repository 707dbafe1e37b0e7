from decimal import Decimal as D

from bot.domain.plausibility import (
    FAR_FROM_HISTORY,
    FAR_FROM_META,
    FRACTION,
    OVER_100_PERCENT,
    PERIOD_SHARE,
    ZERO,
    check_plausibility,
)


def test_values_of_the_real_report_are_plausible():
    assert check_plausibility(D("255900"), D("255835"), [D("255835")], percent=False).ok
    assert check_plausibility(D("20561"), D("6000"), [], percent=False).ok
    assert check_plausibility(D("2280"), D("3040"), [D("700")], percent=False).ok
    assert check_plausibility(D("4"), D("16"), [], percent=False).ok
    assert check_plausibility(D("25.00"), D("8.33"), [D("8.33"), D("16.66")], percent=True).ok


def test_a_slipped_digit_is_questioned():
    extra = check_plausibility(D("2558350"), D("255835"), [D("255835"), D("255900")],
                               percent=False)
    assert extra.reasons == (FAR_FROM_META, FAR_FROM_HISTORY)
    missing = check_plausibility(D("25583"), D("255835"), [], percent=False)
    assert missing.reasons == (FAR_FROM_META,)


def test_far_from_history_alone():
    result = check_plausibility(D("500"), D("150"), [D("120"), D("110"), D("100")],
                                percent=False)
    assert result.reasons == (FAR_FROM_HISTORY,) and result.usual == D("110")


def test_zero_and_percent_over_100():
    assert check_plausibility(D("0"), D("150"), [], percent=False).reasons == (ZERO,)
    assert check_plausibility(D("0"), D("0"), [], percent=False).ok
    assert check_plausibility(D("101"), D("8.33"), [], percent=True).reasons == (
        OVER_100_PERCENT,)


def test_a_fraction_on_a_count_is_questioned():
    assert check_plausibility(D("3.04"), D("3040"), [], percent=False, whole=True).reasons == (
        FRACTION, FAR_FROM_META)
    assert check_plausibility(D("150.5"), D("150"), [], percent=False, whole=True).reasons == (
        FRACTION,)
    assert check_plausibility(D("150.000"), D("150"), [], percent=False, whole=True).ok
    assert check_plausibility(D("150.5"), D("150"), [], percent=False).ok  # not a count


def test_the_period_share_typed_where_the_cumulative_is_expected_is_questioned():
    # 306 INSPECCION: 8.33 % a month; in October the cumulative (~83 %) is expected.
    assert check_plausibility(D("8.33"), D("8.33"), [D("75")], percent=True,
                              cumulative_periods=10).reasons == (PERIOD_SHARE,)
    assert check_plausibility(D("83.33"), D("8.33"), [], percent=True,
                              cumulative_periods=10).ok
    assert check_plausibility(D("8.33"), D("8.33"), [], percent=True,
                              cumulative_periods=1).ok  # January: month = year so far
    assert check_plausibility(D("0"), D("8.33"), [], percent=True, cumulative_periods=10).ok
    assert check_plausibility(D("8.33"), D("8.33"), [], percent=True).ok  # not cumulative
