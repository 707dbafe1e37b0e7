"""Official holidays (bot.domain.official_holidays): the package's own days, one country loaded."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import holidays

from bot.domain.official_holidays import is_known_country, official_holidays


def test_mexico_has_the_days_of_the_ley_federal_del_trabajo():
    assert sorted(official_holidays("MX", 2026)) == [
        date(2026, 1, 1), date(2026, 2, 2), date(2026, 3, 16), date(2026, 5, 1),
        date(2026, 9, 16), date(2026, 11, 16), date(2026, 12, 25)]
    assert date(2024, 10, 1) in official_holidays("MX", 2024)  # a new president takes office


def test_the_days_are_the_packages_own_for_any_country():
    for country, year in (("MX", 2023), ("MX", 2030), ("US", 2026), ("ES", 2025)):
        assert official_holidays(country, year) == frozenset(
            holidays.country_holidays(country, years=year).keys())


def test_known_countries_are_the_packages_own():
    assert {code for code in holidays.list_supported_countries()
            if is_known_country(code)} == set(holidays.list_supported_countries())
    assert not is_known_country("XX") and not is_known_country("")


def test_only_the_asked_country_is_loaded_and_the_package_still_answers_by_name():
    # A fresh interpreter: in this one, other tests may have loaded every country already.
    # The settings check the configured country first, as every command does.
    script = (
        "import sys\n"
        "from bot.settings import Settings\n"
        "Settings(telegram_bot_token='1:x', poa_holidays_country='MX')\n"
        "from bot.domain.official_holidays import official_holidays\n"
        "official_holidays('MX', 2026)\n"
        "loaded = [m for m in sys.modules if m.startswith('holidays.countries.')]\n"
        "assert loaded == ['holidays.countries.mexico'], loaded\n"
        "from holidays.countries import Argentina, MX\n"
        "assert MX.__name__ == 'MX' and Argentina.__name__ == 'Argentina'\n")
    subprocess.run([sys.executable, "-c", script], check=True)
