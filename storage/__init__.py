"""Persistence: tables, queries, migrations. Knows nothing of Telegram."""
