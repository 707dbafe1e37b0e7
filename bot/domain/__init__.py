"""Pure domain rules: periods, numbers, attainment. No I/O here."""
