"""bot.domain.short_names: the readable short name a phone shows for a workbook name."""

from __future__ import annotations

import pytest

from bot.domain.short_names import (
    MAX_LENGTH,
    derive_short_name,
    display_name,
    sentence_case,
    shorten_name,
)


@pytest.mark.parametrize(("nombre", "expected"), [
    ("INSPECCION", "Inspeccion"),
    ("LECTURAS TOMADAS", "Lecturas tomadas"),
    # Acronyms stay: known ones, capitals without vowels, words with digits.
    ("PAGOS A CFE POR ENERGIA", "Pagos a CFE por energia"),
    ("REPORTES AL SHCP", "Reportes al SHCP"),
    ("MANTENIMIENTO A PTAR", "Mantenimiento a PTAR"),
    ("AVANCE DE LA LINEA L3", "Avance de la linea L3"),
    ("CFE: RECIBOS PAGADOS", "CFE: recibos pagados"),  # an acronym first stays as is
    ("ÁREAS VERDES", "Áreas verdes"),  # accents kept
    # A name written by hand in mixed case is kept as written (its capitals were meant).
    ("Toma de lecturas CFE y Agua", "Toma de lecturas CFE y Agua"),
    ("  DOS   ESPACIOS ", "Dos espacios"),
    ("", ""),
])
def test_sentence_case_keeps_acronyms(nombre, expected):
    assert sentence_case(nombre) == expected


def test_a_long_name_is_cut_at_a_word_boundary_without_a_dangling_word():
    short = derive_short_name(
        "RECIBOS ENTREGADOS A DOMICILIO EN LA ZONA URBANA Y RURAL DEL MUNICIPIO")
    # Cut at 40: "… domicilio en la zon" → whole words, then "en la" dropped (dangling).
    assert short == "Recibos entregados a domicilio…"
    short = derive_short_name(
        "TOMA DE LECTURAS DE MEDIDORES EN ZONA URBANA Y RURAL DEL MUNICIPIO")
    assert short == "Toma de lecturas de medidores en zona…"
    assert len(short) <= MAX_LENGTH


def test_catalog_text_with_symbols_is_shortened_not_escaped():
    # Escaping is the renderer's job (handlers): the name keeps <, > and & as typed.
    assert derive_short_name("RECONEXION <PROGRAMADO> & MAS") == "Reconexion <programado> & mas"
    assert (derive_short_name("RECONEXION DE SERVICIO DE AGUA <PROGRAMADO> & MAS")
            == "Reconexion de servicio de agua…")


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("uno dos tres", 12, "uno dos tres"),  # fits: unchanged
    ("uno dos tres cuatro", 12, "uno dos…"),  # "tres" plus "…" would not fit
    ("uno de tres", 8, "uno…"),  # never ends in "de"
    ("abcdefghij", 5, "abcd…"),  # one long word: cut inside it, the only way to fit
    ("medidores, lecturas y cortes", 20, "medidores, lecturas…"),
])
def test_shorten_name_never_passes_the_limit(text, limit, expected):
    result = shorten_name(text, limit)
    assert result == expected
    assert len(result) <= limit


def test_display_name_prefers_the_offices_short_name():
    assert display_name("TOMA DE LECTURAS DE MEDIDORES", "  Lecturas  ") == "Lecturas"
    assert display_name("TOMA DE LECTURAS", "") == "Toma de lecturas"
    assert display_name("TOMA DE LECTURAS", None) == "Toma de lecturas"
    assert display_name("TOMA DE LECTURAS", "   ") == "Toma de lecturas"
