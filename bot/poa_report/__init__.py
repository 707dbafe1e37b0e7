"""Reading the POA report (the workbook's TSV export or the ``.xlsx`` itself) into rows.

Pure parsing: no database. :func:`read_report` returns a :class:`PoaReport` whose rows
carry their section's period, resolved continuation cells, exact Decimals and source
locations, plus the warnings where the report contradicts itself.
"""

from bot.poa_report.reader import (
    ImportWarning,
    PoaFormatError,
    PoaReport,
    PoaRow,
    Section,
    read_report,
    read_rows,
)

__all__ = ["ImportWarning", "PoaFormatError", "PoaReport", "PoaRow", "Section", "read_report",
           "read_rows"]
