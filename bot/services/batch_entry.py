"""All of a unit's values in one message: "1084 115 83.3 3251 3251", or one per line. Pure.

The answer is split into pieces and each piece is read for the pending indicator in the same
position (card order) with :func:`bot.domain.typed_figures.read_figure`, so a piece follows
exactly the rules of a value typed alone: ``115 reconexiones`` and ``8.33 %`` are one piece
(words and a % sign stay with the number before them), ``3.040`` on a count is a
:class:`~bot.domain.typed_figures.Choice` the person is asked about later, and anything refused
refuses the whole answer with the position and the reason — nothing is saved from a
half-understood message, and nothing typed before is lost.

How the answer is split:

* several non-empty lines: one value per line (a line may be ``1 084`` with a space for
  thousands);
* one line: at every space, except that words and ``%`` join the number before them.

Whether it is a batch at all: one piece, or one pending indicator, is the single value of the
one-at-a-time flow (``None``). A line whose pieces do not match the pending count but which
reads as ONE figure (``1 084``) is also a single value. Any other count is refused with both
counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.typed_figures import (
    MAX_TYPED,
    Choice,
    FigureRules,
    Reading,
    Refusal,
    read_figure,
)

MAX_BATCH_TYPED = 2000  # characters of a whole answer looked at
_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]+")
_NUMBER_START = re.compile(r"[+\-\u2212\u2013]?[.,]?[0-9]")
# One figure written with spaces between thousands: 1 to 3 digits, then groups of three.
_SPACE_GROUP = re.compile(r"(?<![0-9.,])[0-9]{1,3} [0-9]{3}(?![0-9])")  # "1 084" in a list
_THOUSANDS_BY_SPACES = re.compile(
    r"[+\-\u2212\u2013]?[0-9]{1,3}(?:[ \u00a0\u2009\u202f][0-9]{3})+(?:[.,][0-9]+)?"
    r"(?:\s*%|\s+[^\W\d_][^\d]*)?")


@dataclass(frozen=True)
class BatchValue:
    position: int  # 1-based, in card order
    typed: str
    figure: Reading | Choice


@dataclass(frozen=True)
class BatchRefusal:
    message: str  # Spanish: which value and why, or both counts


def lines_of(text: str) -> list[str]:
    """The non-empty lines of an answer, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def split_answer(text: str) -> list[str]:
    """The pieces of an answer (see the module docstring)."""
    lines = lines_of(text)
    if len(lines) != 1:
        return lines
    pieces: list[str] = []
    for token in _SPACES.split(lines[0]):
        if pieces and not _NUMBER_START.match(token):
            pieces[-1] = f"{pieces[-1]} {token}"  # "115 reconexiones", "8.33 %"
        else:
            pieces.append(token)
    return pieces


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def read_batch(text: str, rules: Sequence[FigureRules]
               ) -> list[BatchValue] | BatchRefusal | None:
    """The values of ``text`` for the pending indicators described by ``rules`` (card order);
    ``None`` when the text is a single value for the first one."""
    if len(rules) < 2:
        return None
    if len(text or "") > MAX_BATCH_TYPED:
        return BatchRefusal("Ese mensaje es demasiado largo para ser una lista de valores. "
                            "Escribe solo los números, separados por espacios o uno por línea.")
    pieces = split_answer(text)
    if len(pieces) < 2:
        return None
    if len(pieces) != len(rules):
        if _THOUSANDS_BY_SPACES.fullmatch(text.strip()) and len(text.strip()) <= MAX_TYPED:
            return None  # "1 084", "1 250 000 cortes": one figure with spaces for thousands
        # "1 084 115 8.33": the space inside 1 084 split it; say how to write thousands.
        hint = (" Para miles usa coma (1,084), no espacio."
                if len(lines_of(text)) == 1 and _SPACE_GROUP.search(text) else "")
        return BatchRefusal(
            f"Escribiste {_plural(len(pieces), 'valor', 'valores')} y te "
            f"{'falta' if len(rules) == 1 else 'faltan'} "
            f"{_plural(len(rules), 'indicador', 'indicadores')}. No guardé nada: escribe "
            f"los {len(rules)} valores en el orden de la lista (o solo el primero).{hint}")
    values = []
    for position, (piece, rule) in enumerate(zip(pieces, rules, strict=True), 1):
        figure = read_figure(piece, rule)
        if isinstance(figure, Refusal):
            return BatchRefusal(f"El valor {position} («{piece[:40]}»): {figure.message} "
                                "No guardé nada: escribe de nuevo todos los valores.")
        values.append(BatchValue(position, piece, figure))
    return values
