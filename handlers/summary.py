"""``/resumen [periodo] [unidad]``: attainment against the meta, paged, one tap to a unit.

The text comes from :mod:`bot.services.summary_pages` over the same
:func:`~bot.services.summary.build_summary` the CLI prints. Buttons carry everything needed
to redraw a page (period code, scope, page), so no state is kept between presses and an old
message keeps working; every press is re-validated: the period must be a strict period code,
the scope ``*`` (everything the person may see) or a unit the person may see, the page in
range. Anything else is answered "Este botón ya no es válido." and changes nothing.

Callback data (≤ 64 bytes): ``rs:p:<period>:<scope>:<page>`` for an overview page and
``rs:u:<period>:<scope>:<back page>:<clave>:<page>`` for a unit's detail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select
from telegram import Update
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from bot.domain.attainment import Bands
from bot.domain.periods import Period, PeriodError, period_from_code
from bot.domain.resumen_args import ArgumentsError, SummaryArgs, parse_summary_args
from bot.services.registration import PersonView
from bot.services.summary import Summary, build_summary
from bot.services.summary_pages import Overview, Page, restrict_summary, unit_pages
from handlers.common import (
    STALE_BUTTON_TEXT,
    answer_callback,
    app_context,
    callback_data,
    edit_or_keep,
    esc,
    keyboard,
    parse_callback,
    reply_html,
    require_person,
)
from storage.models import Unit

log = logging.getLogger(__name__)

PREFIX = "rs"
ALL = "*"
UNIT_BUTTONS_PER_ROW = 4
PREVIOUS, NEXT, BACK = "◀", "▶", "⬅ Volver al resumen"


# --- loading (runs in the database thread) -------------------------------------------------

def unit_claves(session: Session) -> list[str]:
    return list(session.exec(select(Unit.clave).order_by(Unit.clave)))


def visible_claves(person: PersonView, all_claves: list[str]) -> list[str]:
    """Units a person may see: all for a gerente, their own for a coordinador."""
    return list(all_claves) if person.is_gerente else list(person.unit_claves)


@dataclass(frozen=True)
class SummaryRequest:
    period: Period
    scope: str  # ALL or a unit clave
    today: date
    bands: Bands
    deadline_day: int


def load_summary(session: Session, person: PersonView, request: SummaryRequest) -> Summary:
    """The summary the person may see for ``request`` (scope already validated)."""
    options = {"today": request.today, "bands": request.bands,
               "deadline_day": request.deadline_day}
    if request.scope != ALL:
        return build_summary(session, request.period, unit_clave=request.scope, **options)
    if person.is_gerente:
        return build_summary(session, request.period, **options)
    own = person.unit_claves
    if len(own) == 1:
        return build_summary(session, request.period, unit_clave=own[0], **options)
    return restrict_summary(build_summary(session, request.period, **options), own)


def summary_request(context: CallbackContext, period: Period, scope: str) -> SummaryRequest:
    ctx = app_context(context)
    settings = ctx.settings
    return SummaryRequest(period=period, scope=scope, today=local_today(context),
                          bands=Bands(green=settings.poa_band_green,
                                      yellow=settings.poa_band_yellow),
                          deadline_day=settings.poa_deadline_day)


def local_today(context: CallbackContext) -> date:
    ctx = app_context(context)
    return ctx.clock().astimezone(ctx.settings.timezone).date()


def scope_title(scope: str) -> str | None:
    return None if scope == ALL else f"unidad {scope}"


# --- keyboards -------------------------------------------------------------------------------

def _nav_row(pages: int, page: int, data_for) -> list[tuple[str, str]]:
    row = []
    if page > 0:
        row.append((f"{PREVIOUS} {page}/{pages}", data_for(page - 1)))
    if page < pages - 1:
        row.append((f"{page + 2}/{pages} {NEXT}", data_for(page + 1)))
    return row


def overview_keyboard(period: Period, scope: str, pages: Sequence[Page], page: int):
    rows: list[list[tuple[str, str]]] = []
    buttons = []
    for clave in dict.fromkeys(pages[page].unit_claves):
        try:
            buttons.append((f"🔎 {clave}", callback_data(PREFIX, "u", period.code, scope, page,
                                                         clave, 0)))
        except ValueError:  # a clave too long for callback data: no detail button
            continue
    for start in range(0, len(buttons), UNIT_BUTTONS_PER_ROW):
        rows.append(buttons[start:start + UNIT_BUTTONS_PER_ROW])
    nav = _nav_row(len(pages), page,
                   lambda p: callback_data(PREFIX, "p", period.code, scope, p))
    if nav:
        rows.append(nav)
    return keyboard(rows) if rows else None


def detail_keyboard(period: Period, scope: str, back: int, clave: str, pages: Sequence[Page],
                    page: int):
    nav = _nav_row(len(pages), page,
                   lambda p: callback_data(PREFIX, "u", period.code, scope, back, clave, p))
    rows = [nav] if nav else []
    rows.append([(BACK, callback_data(PREFIX, "p", period.code, scope, back))])
    return keyboard(rows)


def _page_text(pages: Sequence[Page], page: int) -> str:
    text = pages[page].text
    if len(pages) > 1:
        first, _, rest = text.partition("\n")
        text = f"{first} · pág. {page + 1}/{len(pages)}" + (f"\n{rest}" if rest else "")
    return text


# --- /resumen --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SummaryReply:
    args: SummaryArgs
    scope: str
    summary: Summary


async def summary_for_command(update: Update, context: CallbackContext,
                              command: str = "resumen") -> SummaryReply | None:
    """Parse ``[periodo] [unidad]``, check the person may see that scope, build the summary.

    Shared by /resumen and /grafica. On a bad argument or a refused scope the person has been
    answered and None is returned.
    """
    person = await require_person(update, context)
    ctx = app_context(context)
    all_claves = await ctx.db.run(unit_claves)
    try:
        args = parse_summary_args(context.args or [], today=local_today(context),
                                  command=command, known_units=all_claves)
    except ArgumentsError as error:
        await reply_html(update, context, str(error))
        return None
    scope = scope_for(person, args, all_claves)
    if isinstance(scope, ScopeRefused):
        await reply_html(update, context, scope.message)
        return None
    summary = await ctx.db.run(load_summary, person, summary_request(context, args.period, scope))
    return SummaryReply(args, scope, summary)


async def resumen(update: Update, context: CallbackContext) -> None:
    reply = await summary_for_command(update, context)
    if reply is None:
        return
    args, scope, summary = reply.args, reply.scope, reply.summary
    # Only the page shown is written (a state-wide summary has hundreds).
    pages = Overview(summary, scope=scope_title(scope))
    await reply_html(update, context, _page_text(pages, 0),
                     reply_markup=overview_keyboard(args.period, scope, pages, 0))


@dataclass(frozen=True)
class ScopeRefused:
    message: str


def scope_for(person: PersonView, args: SummaryArgs, all_claves: list[str]) -> str | ScopeRefused:
    if args.unit_clave is None:
        return ALL
    visible = visible_claves(person, all_claves)
    if args.unit_clave in visible:
        return args.unit_clave
    if person.is_gerente:
        known = ", ".join(all_claves) or "ninguna (importa el reporte POA primero)"
        return ScopeRefused(f"No existe la unidad {esc(args.unit_clave)}. "
                            f"Unidades: {esc(known)}.")
    return ScopeRefused(f"Solo puedes consultar tus unidades: {esc(', '.join(visible))}.")


# --- buttons ---------------------------------------------------------------------------------

async def on_button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, PREFIX)
    shown = await _show(update, context, person, parts or [])
    await answer_callback(update, None if shown else STALE_BUTTON_TEXT)


async def _show(update: Update, context: CallbackContext, person: PersonView,
                parts: list[str]) -> bool:
    """Redraw the page a button names; False (and nothing changed) if it is not valid."""
    if len(parts) not in (4, 6) or parts[0] not in ("p", "u"):
        return False
    kind, code, scope = parts[0], parts[1], parts[2]
    numbers = [parts[3]] + ([parts[5]] if kind == "u" else [])
    # isascii: "²" and "١" pass isdigit() too, and int("²") raises.
    if not all(n.isascii() and n.isdigit() and len(n) <= 5 for n in numbers):
        return False
    try:
        period = period_from_code(code)
    except PeriodError:
        return False
    ctx = app_context(context)
    if scope != ALL and scope not in visible_claves(person, await ctx.db.run(unit_claves)):
        return False
    summary = await ctx.db.run(load_summary, person, summary_request(context, period, scope))
    back = int(parts[3])
    overview = Overview(summary, scope=scope_title(scope))
    if kind == "p":
        if back >= len(overview):
            return False
        await edit_or_keep(update, _page_text(overview, back),
                           overview_keyboard(period, scope, overview, back), context)
        return True
    clave, page = parts[4], int(parts[5])
    detail = unit_pages(summary, clave)
    if detail is None or page >= len(detail) or back >= len(overview):
        return False
    await edit_or_keep(update, _page_text(detail, page),
                       detail_keyboard(period, scope, back, clave, detail, page), context)
    return True


def register(application: Application) -> None:
    application.add_handler(CommandHandler("resumen", resumen))
    application.add_handler(CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"))
