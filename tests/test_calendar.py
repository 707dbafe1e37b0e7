from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar import (
    ESCALATION,
    REMINDER,
    BusinessDays,
    ReportingCalendar,
    periods_with_deadline_in,
)
from bot.domain.periods import Period, period_from_code
from bot.settings import Settings

MATAMOROS = ZoneInfo("America/Matamoros")


def cal(**kw) -> ReportingCalendar:
    return ReportingCalendar(timezone=kw.pop("timezone", MATAMOROS), **kw)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=MATAMOROS)


def test_from_settings_uses_defaults_and_overrides():
    settings = Settings(_env_file=None, poa_reminder_days="5, 1,3", poa_deadline_day=7,
                        poa_reminder_time="08:30", poa_grace_days=2)
    calendar = ReportingCalendar.from_settings(settings)
    assert calendar.reminder_days == (1, 3, 5)
    assert calendar.deadline_day == 7
    assert calendar.escalation_day == 8  # default: the day after the deadline
    assert calendar.reminder_time == time(8, 30)
    assert calendar.grace_days == 2
    assert calendar.timezone == ZoneInfo("America/Matamoros")


@pytest.mark.parametrize(("code", "opens", "deadline"), [
    ("2023-03", date(2023, 4, 1), date(2023, 4, 5)),
    ("2023-Q1", date(2023, 4, 1), date(2023, 4, 5)),
    ("2023-S1", date(2023, 7, 1), date(2023, 7, 5)),
    ("2023-12", date(2024, 1, 1), date(2024, 1, 5)),
    ("2023", date(2024, 1, 1), date(2024, 1, 5)),
    ("2023-02", date(2023, 3, 1), date(2023, 3, 5)),
])
def test_window_and_deadline(code, opens, deadline):
    period = period_from_code(code)
    calendar = cal()
    assert calendar.window_opens(period) == opens
    assert calendar.deadline(period) == deadline
    assert calendar.opens_at(period) == local(opens.year, opens.month, opens.day)


def test_whole_deadline_day_is_on_time_and_grace_zero_closes_at_midnight():
    calendar = cal()
    march = Period.month(2023, 3)
    last_on_time = local(2023, 4, 5, 23, 59, 59)
    assert not calendar.is_late(march, last_on_time)
    assert calendar.is_within_window(march, last_on_time)
    midnight = local(2023, 4, 6)
    assert calendar.is_late(march, midnight)
    assert calendar.closes_at(march) == midnight
    assert not calendar.is_within_window(march, midnight)
    assert not calendar.is_within_window(march, local(2023, 3, 31, 23, 59))  # not ended yet
    assert calendar.is_within_window(march, local(2023, 4, 1))


def test_grace_days_accept_late_values_until_they_end():
    calendar = cal(grace_days=3)
    march = Period.month(2023, 3)
    assert calendar.closes_at(march) == local(2023, 4, 9)
    during_grace = local(2023, 4, 8, 12)
    assert calendar.is_within_window(march, during_grace)
    assert calendar.is_late(march, during_grace)
    assert not calendar.is_within_window(march, local(2023, 4, 9))


def test_periods_with_deadline_in_january_include_the_year_end_periods():
    codes = [p.code for p in periods_with_deadline_in(2024, 1)]
    assert codes == ["2023-12", "2023-Q4", "2023-S2", "2023"]
    assert [p.code for p in periods_with_deadline_in(2023, 5)] == ["2023-04"]
    assert [p.code for p in periods_with_deadline_in(2023, 7)] == ["2023-06", "2023-Q2",
                                                                   "2023-S1"]


def test_reportable_periods_most_recent_first():
    calendar = cal()
    assert [p.code for p in calendar.reportable_periods(local(2023, 4, 3, 10))] == [
        "2023-03", "2023-Q1"]
    assert calendar.reportable_periods(local(2023, 4, 6, 0, 0)) == []
    assert calendar.reportable_periods(local(2023, 3, 31, 23)) == []  # Feb closed, Mar running
    long_grace = cal(grace_days=40)  # April's and March's windows overlap
    assert [p.code for p in long_grace.reportable_periods(local(2023, 5, 2))] == [
        "2023-04", "2023-03", "2023-Q1"]


def test_reminder_stages_at_local_time_and_last_one_flagged():
    calendar = cal(reminder_days=(1, 3, 5), reminder_time=time(9, 0), escalation_day=6)
    stages = calendar.stages_in_month(2023, 4)
    assert [(s.kind, s.at) for s in stages] == [
        (REMINDER, local(2023, 4, 1, 9)), (REMINDER, local(2023, 4, 3, 9)),
        (REMINDER, local(2023, 4, 5, 9)), (ESCALATION, local(2023, 4, 6, 9))]
    assert [s.is_last_reminder for s in stages] == [False, False, True, False]
    assert [s.name for s in stages] == ["reminder-2023-04-01", "reminder-2023-04-03",
                                        "reminder-2023-04-05", "escalation"]
    # Matamoros is on daylight time (UTC-5) in April: 09:00 local is 14:00 UTC.
    assert stages[0].at.astimezone(UTC) == datetime(2023, 4, 1, 14, tzinfo=UTC)
    assert calendar.reminder_times(Period.quarter(2023, 1)) == [s.at for s in stages[:3]]
    assert calendar.escalation_at(Period.month(2023, 3)) == local(2023, 4, 6, 9)


def test_reminders_after_closing_are_dropped():
    calendar = cal(reminder_days=(1, 3, 5, 7), deadline_day=5, escalation_day=6)
    reminders = [s for s in calendar.stages_in_month(2023, 4) if s.kind == REMINDER]
    assert [s.at.day for s in reminders] == [1, 3, 5]
    assert reminders[-1].is_last_reminder
    with_grace = cal(reminder_days=(1, 3, 5, 7), deadline_day=5, escalation_day=6,
                     grace_days=2)
    assert [s.at.day for s in with_grace.stages_in_month(2023, 4)
            if s.kind == REMINDER] == [1, 3, 5, 7]


def test_reminder_time_follows_daylight_saving_change():
    # Matamoros springs forward on 2023-03-12 (second Sunday of March) and falls back on
    # 2023-11-05; reminders stay at 09:00 on the wall clock, so their UTC time moves.
    calendar = cal(reminder_days=(11, 12), deadline_day=14, escalation_day=15)
    march = calendar.stages_in_month(2023, 3)
    assert [s.at.astimezone(UTC).hour for s in march] == [15, 14, 14]
    assert [s.at.hour for s in march] == [9, 9, 9]
    november = cal(reminder_days=(4, 5), deadline_day=6, escalation_day=7).stages_in_month(
        2023, 11)
    assert [s.at.astimezone(UTC).hour for s in november] == [14, 15, 15]
    assert november[1].at.astimezone(UTC) - november[0].at.astimezone(UTC) == timedelta(hours=25)
    assert march[1].at.astimezone(UTC) - march[0].at.astimezone(UTC) == timedelta(hours=23)


def test_wall_times_that_skip_or_repeat_on_dst_days():
    skipped = cal(reminder_days=(12,), reminder_time=time(2, 30), deadline_day=14,
                  escalation_day=15).stages_in_month(2023, 3)[0]
    assert skipped.at.astimezone(UTC) == datetime(2023, 3, 12, 8, 30, tzinfo=UTC)  # 03:30 CDT
    assert (skipped.at.hour, skipped.at.minute) == (3, 30)
    repeated = cal(reminder_days=(5,), reminder_time=time(1, 30), deadline_day=6,
                   escalation_day=7).stages_in_month(2023, 11)[0]
    assert repeated.at.astimezone(UTC) == datetime(2023, 11, 5, 6, 30, tzinfo=UTC)  # first one


def test_other_timezone_dst_via_settings():
    # 12 March 2023, the DST change, is a Sunday: counted as a reminder day on purpose.
    settings = Settings(_env_file=None, poa_timezone="America/Chicago", poa_reminder_days="12",
                        poa_deadline_day=14, poa_business_days=False)
    calendar = ReportingCalendar.from_settings(settings)
    stage = calendar.stages_in_month(2023, 3)[0]
    assert stage.at.astimezone(UTC) == datetime(2023, 3, 12, 14, tzinfo=UTC)


def test_current_stage_is_the_latest_due_until_the_next_comes():
    calendar = cal()
    assert calendar.current_stage(local(2023, 4, 1, 8, 59)).kind == ESCALATION  # March's
    assert calendar.current_stage(local(2023, 4, 1, 8, 59)).month == 3
    first = calendar.current_stage(local(2023, 4, 1, 9, 0))
    assert (first.kind, first.at) == (REMINDER, local(2023, 4, 1, 9))
    # Down from the 2nd to the 4th: the reminder of the 3rd is still current on the 4th...
    assert calendar.current_stage(local(2023, 4, 4, 18)).name == "reminder-2023-04-03"
    # ...but once the 5th's has come, the 3rd's is skipped.
    assert calendar.current_stage(local(2023, 4, 5, 9, 1)).name == "reminder-2023-04-05"
    escalation = calendar.current_stage(local(2023, 4, 20))
    assert (escalation.kind, escalation.year, escalation.month) == (ESCALATION, 2023, 4)
    assert calendar.next_stage(local(2023, 4, 20)).at == local(2023, 5, 1, 9)
    # Year boundary.
    assert calendar.current_stage(local(2024, 1, 1, 8)).month == 12
    assert calendar.next_stage(local(2023, 12, 31, 23)).at == local(2024, 1, 1, 9)


def test_upcoming_stages_span_months():
    calendar = cal()
    upcoming = calendar.upcoming_stages(local(2023, 4, 5, 10), count=5)
    assert [s.at for s in upcoming] == [local(2023, 4, 6, 9), local(2023, 5, 1, 9),
                                        local(2023, 5, 3, 9), local(2023, 5, 5, 9),
                                        local(2023, 5, 6, 9)]


def test_deadline_day_clamped_in_short_months_is_never_needed_but_safe():
    calendar = cal(deadline_day=28, reminder_days=(28,), escalation_day=28)
    assert calendar.deadline(Period.month(2023, 1)) == date(2023, 2, 28)


def test_escalation_on_a_reminder_day_goes_out_with_the_reminder():
    calendar = cal(reminder_days=(1, 3, 5), deadline_day=4, grace_days=1, escalation_day=5)
    stages = calendar.current_stages(local(2023, 4, 5, 9, 30))
    assert sorted((s.kind, s.at) for s in stages) == [(ESCALATION, local(2023, 4, 5, 9)),
                                                      (REMINDER, local(2023, 4, 5, 9))]
    assert [s.name for s in calendar.current_stages(local(2023, 4, 3, 10))] == [
        "reminder-2023-04-03"]
    assert calendar.current_stages(local(1999, 1, 1)) != []


# --- business days --------------------------------------------------------------------------

MEXICO = BusinessDays()  # Monday to Friday minus Mexico's official holidays (the default)

# 2026, deadline day 5, reminders 1/3/5, escalation 6: where each falls once weekends and
# official holidays (1 Jan, 2 Feb, 16 Mar, 1 May, 16 Sep, 16 Nov, 25 Dec) are skipped.
YEAR_2026 = {
    # month: (deadline, reminders, escalation)
    1: (5, (2, 5), 6),  # 1 Jan holiday -> 2 (Fri); 3 Sat -> 5 merged with the 5th
    2: (5, (3, 5), 6),  # 1 Sun -> 2 Mon holiday (Constitución) -> 3; 3 Tue is the same day
    3: (5, (2, 3, 5), 6),
    4: (6, (1, 3, 6), 7),  # 5 Sun: deadline Monday 6, escalation Tuesday 7
    5: (5, (4, 5), 6),  # 1 May holiday (Fri) -> 4 Mon; 3 Sun -> 4
    6: (5, (1, 3, 5), 8),  # escalation 6 Sat -> Monday 8
    7: (6, (1, 3, 6), 7),  # 5 Sun
    8: (5, (3, 5), 6),  # 1 Sat and 3 Mon
    9: (7, (1, 3, 7), 8),  # 5 Sat: deadline Monday 7
    10: (5, (1, 5), 6),  # 3 Sat -> 5
    11: (5, (2, 3, 5), 6),  # 1 Sun -> 2
    12: (7, (1, 3, 7), 8),  # 5 Sat
}


@pytest.mark.parametrize("month", range(1, 13))
def test_deadlines_reminders_and_escalation_move_to_business_days_across_a_year(month):
    calendar = cal(business_days=MEXICO)
    deadline, reminders, escalation = YEAR_2026[month]
    stages = calendar.stages_in_month(2026, month)
    assert [s.at.day for s in stages if s.kind == REMINDER] == list(reminders)
    assert [s.at.day for s in stages if s.kind == ESCALATION] == [escalation]
    assert all(s.at.weekday() < 5 and s.at.hour == 9 for s in stages)
    assert stages[-1].kind == ESCALATION
    reminders_only = [s for s in stages if s.kind == REMINDER]
    assert reminders_only[-1].is_last_reminder
    previous_month = Period.month(2026 if month > 1 else 2025, month - 1 if month > 1 else 12)
    assert calendar.deadline(previous_month) == date(2026, month, deadline)
    # The whole (moved) deadline day is on time; the next midnight is late.
    assert not calendar.is_late(previous_month, local(2026, month, deadline, 23, 59))
    assert calendar.is_late(previous_month, local(2026, month, deadline) + timedelta(days=1))


def test_every_day_of_a_year_is_classified_and_moves_at_most_to_the_next_business_day():
    day = date(2026, 1, 1)
    while day.year == 2026:
        moved = MEXICO.on_or_after(day)
        assert MEXICO.is_business_day(moved) and moved >= day
        assert all(not MEXICO.is_business_day(day + timedelta(days=n))
                   for n in range((moved - day).days))
        day += timedelta(days=1)


def test_local_holidays_and_switching_the_rule_off_come_from_settings():
    settings = Settings(_env_file=None, poa_extra_holidays="2026-10-05, 2026-10-06")
    calendar = ReportingCalendar.from_settings(settings)
    assert calendar.deadline(Period.month(2026, 9)) == date(2026, 10, 7)
    plain = ReportingCalendar.from_settings(Settings(_env_file=None, poa_business_days=False))
    assert plain.deadline(Period.month(2026, 8)) == date(2026, 9, 5)  # a Saturday, kept
    no_holidays = ReportingCalendar.from_settings(
        Settings(_env_file=None, poa_holidays_country=""))
    assert no_holidays.stages_in_month(2026, 5)[0].at.day == 1  # 1 May counts as a workday
    with pytest.raises(ValueError, match="POA_HOLIDAYS_COUNTRY"):
        Settings(_env_file=None, poa_holidays_country="XX")
