"""``poa-bot demo``: the real bot in a browser chat (see ``bot/commands/demo.py``).

``seed`` prepares the database (report, people, starting instant), ``web`` serves the chat page
(``static/``) over the Telegram stand-in of ``bot/telegram_standin``.
"""
