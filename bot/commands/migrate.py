"""``poa-bot migrate``: migrations already ran in the CLI; say where."""

from storage.db import redact_url


def run(args, settings, db) -> int:
    print(f"Base de datos al día: {redact_url(db.url)}")
    return 0
