"""What counts as "no remarks" when people answer the remarks question."""

import pytest

from bot.domain.remarks import means_no_remarks


@pytest.mark.parametrize("text", [
    "no", "No.", "NO", "ninguna", "Ninguna!", "ninguno", "sin observaciones",
    "Sin observación", "sin obs", "n/a", "N/A", "nada", "no hay", "-", "…", ".", "👍", "👍🏽✅",
    "  ", "ok", "Sin novedad",
])
def test_answers_that_mean_no_remarks(text):
    assert means_no_remarks(text)


@pytest.mark.parametrize("text", [
    "No se pudo leer la ruta 4 por lluvia", "98 reconexiones del mes", "no hubo lecturas",
    "Ninguna toma cortada por amparo", "<b>urgente</b>", "1", "ok, faltan 3 recibos",
])
def test_real_remarks_are_kept(text):
    assert not means_no_remarks(text)
