"""Chat adapters (Telegram, Discord, console) over :mod:`moosic_core.service`."""
