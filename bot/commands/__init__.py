"""One module per ``poa-bot`` sub-command; each exposes ``run(args, settings, db) -> int``."""
