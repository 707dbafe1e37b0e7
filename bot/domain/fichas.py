"""The *ficha técnica* of an indicator: how its figures are judged. Pure, Decimal only.

Mexican public bodies judge each indicator by its own ficha (MIR / Sistema de Evaluación del
Desempeño practice) instead of one global rule. What the bot uses of it:

* **Sentido** (direction): ``ascendente`` (more is better), ``descendente`` (less is better:
  rezago, reclamaciones, tiempos de atención), ``regular`` (closest to the meta is best; both
  under- and over-achievement are flagged).
* **Acumulación** (how periods add up): ``suma`` (counts: Σ of the periods), ``ultimo`` (stocks
  and rates: the latest period), ``promedio`` (the mean of the periods reported), ``acumulado``
  (the value typed already is the year-to-date figure, like 306 INSPECCION's 8.33 %, 16.66 %…).
* **Semáforo**: green and yellow thresholds in percent of the programmed meta. For
  ``ascendente``/``descendente`` one-sided (green from ``green_min``, yellow from ``yellow_min``);
  for ``regular`` two-sided (green within ``green_min``–``green_max``, yellow within
  ``yellow_min``–``yellow_max``, red beyond).

Attainment formulas (percent points):

* ``ascendente`` and ``regular``: value ÷ meta × 100.
* ``descendente``: (2 − value ÷ meta) × 100, floored at 0: the formula SHCP's performance
  evaluation system (PASH, *Criterios para el registro y actualización de los instrumentos de
  seguimiento del desempeño*) uses for descending indicators. Reaching the meta exactly is 100 %;
  each percent below the meta adds a point (value 0 against a positive meta is 200 %); twice the
  meta or more is 0 %.
* Meta 0: no ratio exists (``None``). ``ascendente`` is met by any report; ``descendente`` and
  ``regular`` are met only by 0 and missed (red) by anything above it.

Defaults reproduce the bot's rules before fichas existed, so the seed's figures do not move:
``ascendente``, green 100 / yellow 80 from settings, ``suma`` for counts, ``acumulado`` for a
percentage meta that is the period's share of the year, ``ultimo`` for any other percentage.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from bot.domain.attainment import (
    AGGREGATE_LAST,
    HUNDRED,
    Status,
    is_share_of_year,
    one_sided_band,
)

_ZERO = Decimal(0)
_TWO = Decimal(2)


class Sentido(StrEnum):
    ASCENDENTE = "ascendente"
    DESCENDENTE = "descendente"
    REGULAR = "regular"


class Acumulacion(StrEnum):
    SUMA = "suma"
    ULTIMO = "ultimo"
    PROMEDIO = "promedio"
    ACUMULADO = "acumulado"


@dataclass(frozen=True)
class Semaforo:
    """Traffic-light thresholds in percent of the programmed meta.

    One-sided (``green_max``/``yellow_max`` unset): green from ``green_min``, yellow from
    ``yellow_min``, red below. Two-sided (``regular``): green in [green_min, green_max],
    yellow in [yellow_min, yellow_max] outside green, red beyond.
    """

    green_min: Decimal = Decimal(100)
    yellow_min: Decimal = Decimal(80)
    green_max: Decimal | None = None
    yellow_max: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("green_min", "yellow_min", "green_max", "yellow_max"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Decimal(value))
        if not _ZERO <= self.yellow_min <= self.green_min:
            raise ValueError(f"semáforo inválido: se requiere 0 ≤ amarillo ({self.yellow_min}) "
                             f"≤ verde ({self.green_min})")
        if (self.green_max is None) != (self.yellow_max is None):
            raise ValueError("semáforo inválido: verde máximo y amarillo máximo van juntos")
        if self.green_max is not None and not (
                self.green_min <= self.green_max <= self.yellow_max):
            raise ValueError(f"semáforo inválido: se requiere verde ({self.green_min}–"
                             f"{self.green_max}) dentro de amarillo (hasta {self.yellow_max})")

    @property
    def two_sided(self) -> bool:
        return self.green_max is not None


@dataclass(frozen=True)
class FichaRules:
    """What judging a figure needs from a ficha (the rest of the ficha is descriptive)."""

    sentido: Sentido = Sentido.ASCENDENTE
    acumulacion: Acumulacion = Acumulacion.SUMA
    semaforo: Semaforo = Semaforo()

    def __post_init__(self) -> None:
        if self.sentido is Sentido.REGULAR and not self.semaforo.two_sided:
            raise ValueError("un indicador de sentido regular necesita un semáforo de dos lados")


def default_acumulacion(aggregation: str, meta: Decimal, periods_per_year: int) -> Acumulacion:
    """Today's implicit rule: counts add up; a share-of-year % is year-to-date; a % is a rate."""
    if aggregation != AGGREGATE_LAST:
        return Acumulacion.SUMA
    if is_share_of_year(meta, periods_per_year):
        return Acumulacion.ACUMULADO
    return Acumulacion.ULTIMO


def attainment(value: Decimal, meta: Decimal, sentido: Sentido) -> Decimal | None:
    """Attainment in percent points by the ficha's direction; ``None`` when the meta is 0."""
    if meta == 0:
        return None
    ratio = value * HUNDRED / meta
    if sentido is Sentido.DESCENDENTE:
        return max(_TWO * HUNDRED - ratio, _ZERO)
    return ratio


def state(value: Decimal, meta: Decimal, rules: FichaRules) -> Status:
    """The traffic-light state of a reported figure against its programmed meta."""
    if meta == 0:
        if rules.sentido is Sentido.ASCENDENTE:
            return Status.ABOVE if value > 0 else Status.ON_TARGET
        return Status.ON_TARGET if value == 0 else Status.BEHIND
    return state_of_attainment(attainment(value, meta, rules.sentido), rules.semaforo)


def state_of_attainment(percent: Decimal | None, semaforo: Semaforo) -> Status:
    """Band an attainment. ``None`` (meta 0 and no direction known) counts as on target."""
    if percent is None:
        return Status.ON_TARGET
    if semaforo.two_sided:
        if semaforo.green_min <= percent <= semaforo.green_max:
            return Status.ON_TARGET
        if semaforo.yellow_min <= percent <= semaforo.yellow_max:
            return Status.CLOSE
        return Status.BEHIND
    return one_sided_band(percent, semaforo.green_min, semaforo.yellow_min)


def is_off_green(status: Status) -> bool:
    """A reported figure that needs a *justificación de la variación*."""
    return status in (Status.CLOSE, Status.BEHIND)


def accumulate(values: list[Decimal], acumulacion: Acumulacion) -> Decimal | None:
    """The figure of several periods (in period order) by the ficha's accumulation."""
    if not values:
        return None
    if acumulacion is Acumulacion.SUMA:
        return sum(values, _ZERO)
    if acumulacion is Acumulacion.PROMEDIO:
        return sum(values, _ZERO) / len(values)
    return values[-1]  # ultimo, acumulado: the latest figure stands for the span


def programmed_to_date(metas: dict[int, Decimal], index: int) -> Decimal:
    """Σ of the programmed metas of periods 1..index (``metas`` by period index in the year)."""
    return sum((meta for i, meta in metas.items() if i <= index), _ZERO)


def expected_progress(metas: dict[int, Decimal], index: int,
                      acumulacion: Acumulacion) -> Decimal | None:
    """Share of the annual meta programmed up to period ``index``, in percent points.

    For ``suma`` it is Σ programmed to date ÷ Σ of the year; with even metas that is today's
    months ÷ 12. For the other accumulations the annual target is the last period's meta, so
    what is expected is that period's meta ÷ the final one.
    """
    if not metas:
        return None
    if acumulacion is Acumulacion.SUMA:
        annual = sum(metas.values(), _ZERO)
        if annual == 0:
            return None
        return programmed_to_date(metas, index) * HUNDRED / annual
    final = metas[max(metas)]
    current = metas.get(index)
    if final == 0 or current is None:
        return None
    if acumulacion is Acumulacion.ACUMULADO:
        return programmed_to_date(metas, index) * HUNDRED / sum(metas.values(), _ZERO)
    return current * HUNDRED / final
