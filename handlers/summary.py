"""``/resumen [periodo] [unidad]``: attainment against the meta, paged, one tap to a unit.

The text comes from :mod:`bot.services.summary_pages` over the same
:func:`~bot.services.summary.build_summary` the CLI prints. Buttons carry everything needed
to redraw a page (period code, scope, page), so no state is kept between presses and an old
message keeps working; every press is re-validated: the period must be a strict period code,
the scope ``*`` (everything the person may see) or a unit the person may see, the page in
range. Anything else is answered "Este botón ya no es válido." and changes nothing.

``/resumen`` opens with the first screen (:mod:`bot.services.summary_front`: what needs
action, one line per unit) and its buttons: «Recordar a Ana», «Invitar responsable de 308»
(gerentes; handled in :mod:`handlers.summary_actions`), 🔎 per unit needing action and
📋 for the detailed overview, which pages as before and leads back to the first screen.

Callback data (≤ 64 bytes): ``rs:f:<period>:<scope>`` for the first screen,
``rs:p:<period>:<scope>:<page>`` for an overview page and
``rs:u:<period>:<scope>:<back page>:<clave>:<page>`` for a unit's detail. With several
gerencias (``bot.services.scope``) a gerente's ``*`` is their gerencia's units; planeación's
``*`` is one line per gerencia, whose buttons open the scope ``@<gerencia id>`` (``@-``: the
units without a gerencia), never a unit clave (``@`` is not allowed in one).

Speed: the summary is built, planned into pages and the page shown written in a database
worker thread (:meth:`storage.db.Database.run`), never on the event loop, and kept in a
:class:`~bot.services.summary_cache.SummaryCache` (one per Application) while the data does
not change, so ◀ ▶ and 🔎 only write the page asked for.

One file past 400 lines on purpose: the command, the buttons and the weekly digest all go
through the same request → scope → cached summary → page path (``load_rendered``); the
action buttons and the digest's scheduling live in their own modules.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlmodel import Session, select
from telegram import Update
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from bot.domain.attainment import Bands
from bot.domain.calendar import EVERY_DAY, BusinessDays, ReportingCalendar, deadline_for
from bot.domain.periods import Period, PeriodError, period_from_code
from bot.domain.resumen_args import ArgumentsError, SummaryArgs, parse_summary_args
from bot.services import scope as units_scope
from bot.services.gerencia_summary import gerencia_lines, gerencia_page_text
from bot.services.gerente_actions import reminder_targets
from bot.services.registration import PersonView
from bot.services.summary import Summary, build_summary
from bot.services.summary_cache import RenderedSummary, SummaryCache, SummaryKey
from bot.services.summary_front import MAX_LINES, build_front, front_text
from bot.services.summary_pages import Page, restrict_summary
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
from handlers.evidence import evidence_row
from storage.models import Unit

log = logging.getLogger(__name__)

PREFIX = "rs"
ALL = "*"
UNIT_BUTTONS_PER_ROW = 4
PREVIOUS, NEXT, BACK = "◀", "▶", "⬅ Volver al resumen"
HOME, DETAIL = "⬅ Inicio", "📋 Detalle por unidad"
ACTIONS = "rf"  # handlers.summary_actions: rf:r:<person id> remind, rf:i:<clave> invite
MAX_REMIND_BUTTONS, MAX_INVITE_BUTTONS, MAX_UNIT_BUTTONS = 4, 3, 8
CACHE_KEY = "poa_summary_cache"


# --- loading (runs in the database thread) -------------------------------------------------

def unit_claves(session: Session) -> list[str]:
    return list(session.exec(select(Unit.clave).order_by(Unit.clave)))


def visible_claves(session: Session, person: PersonView) -> tuple[list[str], list[str]]:
    """(every unit clave, the units the person may see: ``bot.services.scope``)."""
    every = unit_claves(session)
    visible = units_scope.visible_claves(session, person)
    return every, every if visible is None else visible


GERENCIA = "@"
NO_GERENCIA_SCOPE = "@-"


def gerencia_scope(gerencia_id: int | None) -> str:
    return NO_GERENCIA_SCOPE if gerencia_id is None else f"{GERENCIA}{gerencia_id}"


def gerencia_id_of(scope: str) -> int | None:
    """The gerencia of an ``@…`` scope (None: ``@-``); ValueError if malformed."""
    if scope == NO_GERENCIA_SCOPE:
        return None
    digits = scope[len(GERENCIA):]
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
        raise ValueError(scope)
    return int(digits)


def covered_units(session: Session, person: PersonView, scope: str) -> tuple[str, ...] | None:
    """The units a summary of ``scope`` covers for ``person`` (None: every unit). A scope
    the person may not see raises LookupError."""
    visible = units_scope.visible_claves(session, person)
    if scope.startswith(GERENCIA):
        if visible is not None:  # a gerencia's button is planeación's
            raise LookupError(scope)
        try:
            gerencia_id = gerencia_id_of(scope)
        except ValueError:
            raise LookupError(scope) from None
        if gerencia_id is not None and units_scope.gerencia_name(session, gerencia_id) is None:
            raise LookupError(scope)
        return tuple(units_scope.gerencia_claves(session, gerencia_id))
    if scope != ALL:
        if visible is not None and scope not in visible:
            raise LookupError(scope)
        return (scope,)
    return None if visible is None else tuple(visible)


@dataclass(frozen=True)
class SummaryRequest:
    period: Period
    scope: str  # ALL or a unit clave
    today: date
    bands: Bands
    deadline_day: int
    business_days: BusinessDays = EVERY_DAY
    approval_required: bool = False  # approval branch: show each unit's state


def load_summary(session: Session, request: SummaryRequest,
                 units: tuple[str, ...] | None) -> Summary:
    """The summary of ``request`` over ``units`` (None: every unit; see covered_units)."""
    options = {"today": request.today, "bands": request.bands,
               "deadline_day": request.deadline_day, "business_days": request.business_days,
               "approval_required": request.approval_required}
    if units is None:
        return build_summary(session, request.period, **options)
    if len(units) == 1:
        return build_summary(session, request.period, unit_clave=units[0], **options)
    return restrict_summary(build_summary(session, request.period, **options), units)


def summary_key(request: SummaryRequest, units: tuple[str, ...] | None) -> SummaryKey:
    """The cache key: which units the summary covers, not who asks (a gerente's /resumen 303
    and the coordinador of 303's /resumen are the same summary)."""
    return SummaryKey(period=request.period.code,
                      units=None if units is None else tuple(sorted(units)),
                      today=request.today, bands=request.bands,
                      deadline_day=request.deadline_day,
                      business_days=request.business_days)


def load_rendered(session: Session, person: PersonView, request: SummaryRequest,
                  cache: SummaryCache) -> RenderedSummary:
    """The person's summary for ``request`` with its pages, from the cache when current.
    A scope the person may not see raises LookupError."""
    units = covered_units(session, person, request.scope)
    title = scope_title(request.scope)
    if request.scope.startswith(GERENCIA):
        gerencia_id = gerencia_id_of(request.scope)
        title = (units_scope.gerencia_name(session, gerencia_id) if gerencia_id is not None
                 else units_scope.NO_GERENCIA)
    key = summary_key(request, units)
    if request.scope.startswith(GERENCIA):  # same units as the gerente's, another title
        key = replace(key, title=title)
    return cache.get(session, key, lambda s: load_summary(s, request, units), scope_title=title)


@dataclass(frozen=True)
class PageView:
    """One page ready to send: its text (with "pág. n/N"), the number of pages and the units
    on it (for the 🔎 buttons)."""

    text: str
    pages: int
    unit_claves: tuple[str, ...]
    gerencias: tuple[tuple[str, str], ...] = ()  # (name, scope): planeación's first screen


def _view(pages, page: int) -> PageView:
    return PageView(_page_text(pages, page), len(pages), pages[page].unit_claves)


def overview_page(session: Session, person: PersonView, request: SummaryRequest,
                  cache: SummaryCache, page: int) -> PageView | None:
    """Overview page ``page`` (None: no such page). Runs in a database worker thread."""
    try:
        rendered = load_rendered(session, person, request, cache)
    except LookupError:
        return None
    if request.scope == ALL and person.is_planeacion and page == 0:
        groups = units_scope.gerencias(session)
        if len(groups) > 1:
            return PageView(gerencia_page_text(rendered.summary,
                                               gerencia_lines(rendered.summary, groups)),
                            1, (), tuple((g.nombre, gerencia_scope(g.id)) for g in groups))
    overview = rendered.overview
    return _view(overview, page) if page < len(overview) else None


def detail_page(session: Session, person: PersonView, request: SummaryRequest,
                cache: SummaryCache, back: int, clave: str, page: int) -> PageView | None:
    """Page ``page`` of unit ``clave``'s detail (None: no such unit, page or back page)."""
    try:
        rendered = load_rendered(session, person, request, cache)
    except LookupError:
        return None
    detail = rendered.detail(clave)
    if detail is None or page >= len(detail) or back >= len(rendered.overview):
        return None
    return _view(detail, page)


def summary_cache(context: CallbackContext) -> SummaryCache:
    return context.application.bot_data[CACHE_KEY]


def summary_request(context: CallbackContext, period: Period, scope: str) -> SummaryRequest:
    ctx = app_context(context)
    settings = ctx.settings
    return SummaryRequest(period=period, scope=scope, today=local_today(context),
                          bands=Bands(green=settings.poa_band_green,
                                      yellow=settings.poa_band_yellow),
                          deadline_day=settings.poa_deadline_day,
                          business_days=settings.business_days,
                          approval_required=settings.poa_approval_required)


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


def overview_keyboard(period: Period, scope: str, view: PageView, page: int):
    rows: list[list[tuple[str, str]]] = [
        [(f"🏢 {name[:40]}", callback_data(PREFIX, "p", period.code, gerencia, 0))]
        for name, gerencia in view.gerencias]
    buttons = []
    for clave in dict.fromkeys(view.unit_claves):
        try:
            buttons.append((f"🔎 {clave}", callback_data(PREFIX, "u", period.code, scope, page,
                                                         clave, 0)))
        except ValueError:  # a clave too long for callback data: no detail button
            continue
    for start in range(0, len(buttons), UNIT_BUTTONS_PER_ROW):
        rows.append(buttons[start:start + UNIT_BUTTONS_PER_ROW])
    nav = _nav_row(view.pages, page,
                   lambda p: callback_data(PREFIX, "p", period.code, scope, p))
    if nav:
        rows.append(nav)
    if scope.startswith(GERENCIA):
        rows.append([("⬅ Gerencias", callback_data(PREFIX, "p", period.code, ALL, 0))])
    rows.append([(HOME, callback_data(PREFIX, "f", period.code, scope))])
    return keyboard(rows)


@dataclass(frozen=True)
class FrontView:
    """The first screen ready to send: its text and its buttons."""

    text: str
    rows: list[list[tuple[str, str]]]


def front_view(session: Session, person: PersonView, request: SummaryRequest,
               cache: SummaryCache, now, calendar: ReportingCalendar, *,
               max_lines: int = MAX_LINES) -> FrontView:
    """The first screen for ``request`` (:mod:`bot.services.summary_front`) with its
    buttons. Runs in a database worker thread; shared by /resumen and the weekly digest."""
    summary = load_rendered(session, person, request, cache).summary
    front = build_front(summary, lambda p: deadline_for(p, request.deadline_day,
                                                        request.business_days))
    period, scope = request.period, request.scope
    rows: list[list[tuple[str, str]]] = []
    if person.is_gerente:
        targets = reminder_targets(session, [u.clave for u in front.missing], now, calendar)
        buttons = [(f"🔔 Recordar a {_label_name(t.name)}",
                    callback_data(ACTIONS, "r", t.person_id))
                   for t in targets[:MAX_REMIND_BUTTONS]]
        rows.extend(buttons[i:i + 2] for i in range(0, len(buttons), 2))
        for clave in front.unattended[:MAX_INVITE_BUTTONS]:
            try:
                rows.append([(f"✉️ Invitar responsable de {clave}",
                              callback_data(ACTIONS, "i", clave))])
            except ValueError:  # a clave too long for callback data
                continue
    claves = [u.clave for u in front.missing] + [u.clave for u in front.late] + [
        r.clave for r in front.red]
    details = []
    for clave in list(dict.fromkeys(claves))[:MAX_UNIT_BUTTONS]:
        try:
            details.append((f"🔎 {clave}", callback_data(PREFIX, "u", period.code, scope, 0,
                                                          clave, 0)))
        except ValueError:
            continue
    rows.extend(details[i:i + UNIT_BUTTONS_PER_ROW]
                for i in range(0, len(details), UNIT_BUTTONS_PER_ROW))
    rows.append([(DETAIL, callback_data(PREFIX, "p", period.code, scope, 0))])
    return FrontView(front_text(front, scope_title(scope), max_lines=max_lines), rows)


def _label_name(name: str) -> str:
    name = " ".join(name.split())
    return name if len(name) <= 20 else name[:19] + "…"


def detail_keyboard(period: Period, scope: str, back: int, clave: str, view: PageView,
                    page: int):
    nav = _nav_row(view.pages, page,
                   lambda p: callback_data(PREFIX, "u", period.code, scope, back, clave, p))
    rows = [nav] if nav else []
    evidence = evidence_row(period.code, clave)  # handlers/evidence.py: list and re-send
    if evidence:
        rows.append(evidence)
    # The unit's fichas técnicas (handlers.fichas); a clave is ≤ 20 characters, so it fits.
    rows.append([("📋 Fichas técnicas", callback_data("fi", "u", clave))])
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
    person: PersonView
    request: SummaryRequest
    rendered: RenderedSummary


async def summary_for_command(update: Update, context: CallbackContext,
                              command: str = "resumen") -> SummaryReply | None:
    """Parse ``[periodo] [unidad]``, check the person may see that scope, build the summary.

    Shared by /resumen and /grafica. On a bad argument or a refused scope the person has been
    answered and None is returned.
    """
    person = await require_person(update, context)
    ctx = app_context(context)
    all_claves, visible = await ctx.db.run(visible_claves, person)
    try:
        args = parse_summary_args(context.args or [], today=local_today(context),
                                  command=command, known_units=all_claves)
    except ArgumentsError as error:
        await reply_html(update, context, str(error))
        return None
    scope = scope_for(person, args, all_claves, visible)
    if isinstance(scope, ScopeRefused):
        await reply_html(update, context, scope.message)
        return None
    request = summary_request(context, args.period, scope)
    rendered = await ctx.db.run(load_rendered, person, request, summary_cache(context))
    return SummaryReply(args, scope, rendered.summary, person, request, rendered)


async def resumen(update: Update, context: CallbackContext) -> None:
    reply = await summary_for_command(update, context)
    if reply is None:
        return
    ctx = app_context(context)
    if reply.scope != ALL and not reply.scope.startswith(GERENCIA):
        # One unit asked by name: its detail at once (what needs action is all in it).
        detail = await ctx.db.run(detail_page, reply.person, reply.request,
                                  summary_cache(context), 0, reply.scope, 0)
        if detail is not None:
            await reply_html(update, context, detail.text, reply_markup=detail_keyboard(
                reply.request.period, reply.scope, 0, reply.scope, detail, 0))
            return
    if reply.person.is_planeacion and reply.scope == ALL:
        # Several gerencias: planeación starts from one line per gerencia (overview_page).
        page = await ctx.db.run(overview_page, reply.person, reply.request,
                                summary_cache(context), 0)
        if page is not None and page.gerencias:
            await reply_html(update, context, page.text, reply_markup=overview_keyboard(
                reply.request.period, ALL, page, 0))
            return
    # The first screen (what needs action), in the worker thread; the summary itself is in
    # the cache by now.
    view = await ctx.db.run(front_view, reply.person, reply.request, summary_cache(context),
                            ctx.clock(), ReportingCalendar.from_settings(ctx.settings))
    await reply_html(update, context, view.text, reply_markup=keyboard(view.rows))
    # «📋 Detalle por unidad» is the likely next press: its pages are planned now, after the
    # reply, instead of before it.
    await ctx.db.run(lambda _session: reply.rendered.overview)


@dataclass(frozen=True)
class ScopeRefused:
    message: str


def scope_for(person: PersonView, args: SummaryArgs, all_claves: list[str],
              visible: list[str]) -> str | ScopeRefused:
    if args.unit_clave is None:
        return ALL
    if args.unit_clave in visible:
        return args.unit_clave
    if person.is_gerente and visible == all_claves:
        known = ", ".join(all_claves) or "ninguna (importa el reporte POA primero)"
        return ScopeRefused(f"No existe la unidad {esc(args.unit_clave)}. "
                            f"Unidades: {esc(known)}.")
    if not visible:
        return ScopeRefused("No tienes unidades que consultar.")
    yours = "las unidades de tu gerencia" if person.is_gerente else "tus unidades"
    return ScopeRefused(f"Solo puedes consultar {yours}: {esc(', '.join(visible))}.")


# --- buttons ---------------------------------------------------------------------------------

async def on_button(update: Update, context: CallbackContext) -> None:
    person = await require_person(update, context)
    parts = parse_callback(update.callback_query.data, PREFIX)
    shown = await _show(update, context, person, parts or [])
    await answer_callback(update, None if shown else STALE_BUTTON_TEXT)


async def _show(update: Update, context: CallbackContext, person: PersonView,
                parts: list[str]) -> bool:
    """Redraw the page a button names; False (and nothing changed) if it is not valid."""
    if parts[:1] == ["f"] and len(parts) == 3:
        parts = [*parts, "0"]  # the first screen: no page number
    elif len(parts) not in (4, 6) or parts[0] not in ("p", "u"):
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
    request = summary_request(context, period, scope)
    back = int(parts[3])
    if kind == "f":
        front = await ctx.db.run(front_view, person, request, summary_cache(context),
                                 ctx.clock(), ReportingCalendar.from_settings(ctx.settings))
        await edit_or_keep(update, front.text, keyboard(front.rows), context)
        return True
    if kind == "p":
        view = await ctx.db.run(overview_page, person, request, summary_cache(context), back)
        if view is None:
            return False
        await edit_or_keep(update, view.text, overview_keyboard(period, scope, view, back),
                           context)
        return True
    clave, page = parts[4], int(parts[5])
    view = await ctx.db.run(detail_page, person, request, summary_cache(context), back, clave,
                            page)
    if view is None:
        return False
    await edit_or_keep(update, view.text, detail_keyboard(period, scope, back, clave, view, page),
                       context)
    return True


def register(application: Application) -> None:
    application.bot_data[CACHE_KEY] = SummaryCache()
    application.add_handler(CommandHandler("resumen", resumen))
    application.add_handler(CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"))
    from handlers import summary_actions  # it uses this module's helpers

    summary_actions.register(application)
