"""Placeholder while the reporting conversation is written."""

from telegram.ext import Application


def register(application: Application) -> None:
    pass
