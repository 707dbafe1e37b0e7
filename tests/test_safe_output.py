"""What leaves the bot is whole: long or hostile texts never make Telegram refuse a reply.

``split_html`` is checked as a property (Hypothesis builds HTML the way our handlers do:
escaped free text in nested tags) and through the real bot: remarks and reasons full of
``&``, ``<``, line breaks and 1,000-character lines, in the end-of-report summary, the
/corregir list and the correction's confirmation. The stand-in parses every message's HTML
strictly, and the harness fails the test on any refusal.
"""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram_standin.server import parse_html, utf16_len
from handlers.common import LIST_TEXT_LIMIT, esc, shorten
from handlers.html_chunks import split_html
from tests.harness import add_sample_catalog, running_bot

ANA = 1001  # coordinadora of 303 (three indicators)

# --- split_html as a property ----------------------------------------------------------------

TAGS = ["<b>", "<i>", "<u>", "<s>", "<code>", '<span class="tg-spoiler">', "<pre>",
        '<a href="https://t.me/poa_bot?start=a&amp;b">', "<blockquote expandable>"]
free_text = st.text(st.sampled_from("ab xyz&<>\"'\n\n     ñé€😀\t"), max_size=300)


def _html(depth: int = 0):
    """Our kind of HTML: escaped free text, nested in tags (never more than three deep)."""
    leaf = free_text.map(esc)
    if depth == 3:
        return leaf
    node = st.tuples(st.sampled_from(TAGS), st.deferred(lambda: _html(depth + 1))).map(
        lambda pair: f"{pair[0]}{pair[1]}</{pair[0][1:].split()[0].rstrip('>')}>")
    return st.lists(st.one_of(leaf, node), max_size=6).map("".join)


def styled(chunk: str) -> list[tuple[str, frozenset]]:
    """Each visible, non-blank character with the formatting Telegram would give it."""
    plain, entities = parse_html(chunk)  # raises on anything Telegram would refuse
    out, offset = [], 0
    for char in plain:
        if not char.isspace():
            out.append((char, frozenset(
                (e["type"], e.get("url")) for e in entities
                if e["offset"] <= offset < e["offset"] + e["length"])))
        offset += utf16_len(char)
    return out


@settings(max_examples=300, deadline=None)
@given(text=_html(), limit=st.integers(min_value=160, max_value=700))
def test_split_html_chunks_fit_parse_and_keep_every_character_and_its_format(text, limit):
    chunks = split_html(text, limit)
    for chunk in chunks:
        assert utf16_len(chunk) <= limit, chunk
        plain, _ = parse_html(chunk)
        assert plain.strip(), "an empty message would be refused"
    assert [c for chunk in chunks for c in styled(chunk)] == styled(text)


def test_split_html_cuts_at_line_breaks_first_then_spaces():
    lines = [f"<b>{n}.</b> línea de prueba" for n in range(400)]
    chunks = split_html("\n".join(lines))
    assert len(chunks) > 1
    assert all(chunk.endswith("\n") for chunk in chunks[:-1])  # whole lines in each message
    words = " ".join(["palabra"] * 1500)
    chunks = split_html(f"<i>{words}</i>")
    assert all(chunk.endswith(" </i>") and chunk.startswith("<i>") for chunk in chunks[:-1])


def test_a_line_of_escaped_ampersands_in_italics_is_closed_and_reopened():
    remark = "<i>" + esc("&" * 1000) * 5 + "</i>"  # one line of 25,007 characters
    chunks = split_html(remark)
    assert len(chunks) == 7
    assert all(c.startswith("<i>") and c.endswith("</i>") for c in chunks)
    assert "".join(parse_html(c)[0] for c in chunks) == "&" * 5000


def test_shorten_folds_lines_and_cuts_before_escaping():
    assert shorten("dos\n\nlíneas   y\tun tab") == "dos líneas y un tab"
    short = shorten("&" * 1000)
    assert len(short) == LIST_TEXT_LIMIT and short.endswith("…")
    assert html.unescape(esc(short)) == short  # cut before escaping: no half "&amp;"
    assert shorten("x" * LIST_TEXT_LIMIT) == "x" * LIST_TEXT_LIMIT


# --- through the real bot --------------------------------------------------------------------

REMARKS = [
    "&" * 999 + "y",  # a letter: a remark of punctuation alone means "no remarks"
    ("<" * 300 + "\n") * 3,
    "primera línea & más\n<b>no es negrita</b>\n" + "palabra " * 110,
]
JUSTIFICATION = "Faltó <b>personal</b> & material\n" + "<i>" * 100 + "se recupera en abril"


async def test_hostile_remarks_never_break_the_summary_or_the_correction_list(db):
    await db.run(add_sample_catalog)
    async with running_bot(db) as bot:
        await bot.register_coordinador(ANA, ["303"], name="Ana")
        await bot.start_report(ANA)
        for value, remark in zip(["255835", "255900"], REMARKS[:2], strict=True):
            await bot.say(ANA, value, lambda m: "Observaciones" in m.text)
            await bot.say(ANA, remark)
        # 100 of 150 leaves green: a hostile justification first, echoed as valid HTML.
        asked = await bot.say(ANA, "100", lambda m: "justificación" in m.text)
        assert "Guardé 100" in asked.text
        echo = await bot.say(ANA, JUSTIFICATION)
        assert echo.text.startswith("📝 Justificación de Inspecciones realizadas: «Faltó <b>")
        assert "Observaciones" in echo.text  # the next question, in the same message
        await bot.say(ANA, REMARKS[2], lambda m: "Listo" in m.text)
        summary = bot.stub.messages_to(ANA)[-1]
        assert "Listo: marzo 2023" in summary.text
        assert "&" * (LIST_TEXT_LIMIT - 1) + "…" in summary.text
        assert "&" * LIST_TEXT_LIMIT not in summary.text  # shortened, not the whole remark
        assert "primera línea & más <b>no es negrita</b> palabra" in summary.text  # one line
        assert len(summary.text) < 1000

        await bot.say(ANA, "/cancelar")
        pick = await bot.say(ANA, "/corregir")
        assert "¿Qué valor quieres corregir?" in pick.text and "&" * 10 in pick.text
        await bot.press(ANA, pick.buttons[0][1])
        await bot.say(ANA, "255836", lambda m: "¿Por qué cambia?" in m.text)
        # A reason of 1,000 "&" is 5,000 characters once escaped: it takes more than one
        # message, each valid HTML, and the reason arrives whole and in italics.
        bot.stub.send_text(ANA, "&" * 1000)
        done = await bot.next_message(ANA, lambda m: "Corregido" in m.text)
        parts = [await bot.next_message(ANA)]
        while sum(m.text.count("&") for m in parts) < 1000:
            parts.append(await bot.next_message(ANA))
        assert done.text.startswith("✅ Corregido") and parts[0].text.startswith("Motivo: &&&")
        assert len(parts) == 2 and "".join(m.text for m in parts) == "Motivo: " + "&" * 1000
        assert all(m.result["entities"] and all(e["type"] == "italic" for e in m.result["entities"])
                   for m in parts)
        again = await bot.say(ANA, "/corregir")  # the period stays correctable
        assert "¿Qué valor quieres corregir?" in again.text
