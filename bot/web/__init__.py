"""The bot's HTTP side: GitHub webhooks and health, on one aiohttp application."""
