"""POA Bot: domain, services, settings, CLI and the Telegram application assembly."""
