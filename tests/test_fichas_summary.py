"""Everything follows the ficha: /resumen's summary, its JSON and the xlsx export judge a
descending, a two-sided regular and a calendarised (seasonal) indicator by their fichas, at
the boundaries of their ranges; default indicators keep today's figures."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from bot.cli import main as cli_main
from bot.domain.attainment import Status
from bot.domain.periods import period_from_code
from bot.services.summary import build_summary
from storage.models import Ficha, ProgrammedMeta
from tests.test_summary import Catalog, _count_statements

NOW = datetime(2023, 4, 10, 15, 0, tzinfo=UTC)
AFTER_Q1 = date(2023, 4, 10)

# (name, March value, expected state) per kind of ficha; meta 100 a month for all.
DESCENDING = [("DESC 100", "100", Status.ON_TARGET), ("DESC 120", "120", Status.CLOSE),
              ("DESC 120.001", "120.001", Status.BEHIND), ("DESC 0", "0", Status.ABOVE),
              ("DESC 99", "99", Status.ABOVE)]
REGULAR = [("REG 95", "95", Status.ON_TARGET), ("REG 105", "105", Status.ON_TARGET),
           ("REG 94.999", "94.999", Status.CLOSE), ("REG 115", "115", Status.CLOSE),
           ("REG 115.001", "115.001", Status.BEHIND), ("REG 84.999", "84.999", Status.BEHIND)]
# Seasonal: January and February programmed at 400, March at 100 (Q1: 900; the other nine
# months stay at the even 100). 80 % of 900 is 720.
SEASONAL = [("SEAS 720", (320, 400, 0), Status.CLOSE), ("SEAS 719", (319, 400, 0), Status.BEHIND),
            ("SEAS 900", (400, 400, 100), Status.ON_TARGET)]


def _ficha(indicator_id: int, sentido: str, green, yellow, green_max=None, yellow_max=None):
    return Ficha(indicator_id=indicator_id, sentido=sentido, acumulacion="suma",
                 medio_verificacion="Bitácora", evidencia_obligatoria=False,
                 verde_min=D(green), amarillo_min=D(yellow),
                 verde_max=None if green_max is None else D(green_max),
                 amarillo_max=None if yellow_max is None else D(yellow_max), updated_at=NOW)


@pytest.fixture
def judged(db):
    """Unit 900 with fichas; unit 901 default indicators (to compare with no ficha)."""
    with db.session() as s:
        c = Catalog(s)
        position = 0
        for name, value, _ in DESCENDING:
            ind = c.indicator("900", name, 100, position=(position := position + 1))
            s.add(_ficha(ind.id, "descendente", 100, 80))
            c.value(ind, "2023-03", value)
        for name, value, _ in REGULAR:
            ind = c.indicator("900", name, 100, position=(position := position + 1))
            s.add(_ficha(ind.id, "regular", 95, 85, 105, 115))
            c.value(ind, "2023-03", value)
        for name, values, _ in SEASONAL:
            ind = c.indicator("900", name, 100, position=(position := position + 1))
            metas = (400, 400, 100)
            for month, (value, meta) in enumerate(zip(values, metas, strict=True), start=1):
                s.add(ProgrammedMeta(indicator_id=ind.id, period=f"2023-0{month}", meta=D(meta)))
                c.value(ind, f"2023-0{month}", value, meta=meta)
        plain = c.indicator("901", "PLAIN", 100, position=1)
        for code in ("2023-01", "2023-02", "2023-03"):
            c.value(plain, code, 90)
        s.flush()


def _states(summary) -> dict[str, Status]:
    return {line.nombre: line.status for line in summary.lines}


def test_descending_and_regular_states_at_the_boundaries(db, judged):
    summary = db.call(build_summary, period_from_code("2023-03"), today=AFTER_Q1)
    states = _states(summary)
    for name, _, expected in DESCENDING + REGULAR:
        assert states[name] == expected, name
    lines = {line.nombre: line for line in summary.lines}
    assert lines["DESC 0"].attainment == D(200)  # SHCP: (2 − 0/100) × 100
    assert lines["DESC 120"].attainment == D(80)
    # Counts follow the fichas too.
    assert summary.status_counts[Status.ABOVE] == 2
    # A default indicator is judged as before fichas existed.
    assert states["PLAIN"] == Status.CLOSE and lines["PLAIN"].expected == D(25)


def test_seasonal_calendar_gives_meta_state_and_expected_progress(db, judged):
    quarter = db.call(build_summary, period_from_code("2023-Q1"), today=AFTER_Q1)
    lines = {line.nombre: line for line in quarter.lines}
    for name, _, expected in SEASONAL:
        assert lines[name].meta == D(900), name  # Σ programmed, not 100 × 3
        assert lines[name].status == expected, name
    assert lines["SEAS 720"].attainment == D(80)
    # Expected progress by the calendar: 900 of 1,800 (nine more months at 100) by March.
    march = db.call(build_summary, period_from_code("2023-03"), today=AFTER_Q1)
    seasonal = {line.nombre: line for line in march.lines}["SEAS 900"]
    assert seasonal.expected == D(50)
    assert seasonal.meta == D(100) and seasonal.status == Status.ON_TARGET
    assert seasonal.cumulative == D(900) * 100 / D(1800)
    assert seasonal.annual_target == D(1800)


def test_resumen_json_follows_the_fichas(judged, database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli_main(["resumen", "--period", "2023-Q1", "--unit", "900", "--format",
                     "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    states = {line["indicador"]: line["estado"]
              for unit in document["unidades"] for line in unit["indicadores"]}
    for name, _, expected in SEASONAL:
        assert states[name] == expected.value, name
    assert cli_main(["resumen", "--period", "2023-03", "--unit", "900", "--format",
                     "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    lines = {line["indicador"]: line for unit in document["unidades"]
             for line in unit["indicadores"]}
    for name, _, expected in DESCENDING + REGULAR:
        assert lines[name]["estado"] == expected.value, name
    assert D(lines["SEAS 900"]["avance_esperado_pct"]) == 50


def test_statements_stay_fixed_with_fichas(db, judged):
    with db.session() as s:
        c = Catalog(s)
        for i in range(30):
            ind = c.indicator("902", f"MORE {i}", 10, position=i)
            s.add(_ficha(ind.id, "descendente", 100, 80))
            s.add(ProgrammedMeta(indicator_id=ind.id, period="2023-02", meta=D(20)))
            c.value(ind, "2023-03", 5)
    few = _count_statements(db, lambda: db.call(build_summary, period_from_code("2023-Q1"),
                                                today=AFTER_Q1, unit_clave="900"))
    many = _count_statements(db, lambda: db.call(build_summary, period_from_code("2023-Q1"),
                                                 today=AFTER_Q1))
    assert few == many <= 9


async def test_the_chat_shows_each_indicator_by_its_ficha(db, judged):
    """The gerente's /resumen of the unit (its detail at once) lights each line by its ficha:
    the same boundaries as the JSON and the export (March for the descending and regular
    ones, the quarter for the seasonal ones, whose states are the quarter's)."""
    from bot.clock import FrozenClock
    from tests.harness import running_bot

    gerente = 7101
    async with running_bot(db, clock=FrozenClock(NOW),
                           handler_modules=["handlers.registration", "handlers.summary"]) as bot:
        await bot.register_gerente(gerente, name="Gerente")
        for asked, cases in (("mar-23", DESCENDING + REGULAR), ("T1 2023", SEASONAL)):
            text = (await bot.say(gerente, f"/resumen 900 {asked}")).text or ""
            # A detail line reads "<light> <name>": the light in front of each name.
            lights = {}
            for line in text.split("\n"):
                light, _, rest = line.partition(" ")
                if any(rest == name for name, _v, _s in cases):
                    lights[rest] = light
            assert lights == {name: state.light for name, _v, state in cases}, text
