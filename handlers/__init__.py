"""Thin Telegram adapters: parse the update, call a service, render Spanish text."""
