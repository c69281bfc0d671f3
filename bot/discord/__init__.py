"""The Discord adapter: a discord.py bot whose cogs parse input, call services and reply."""
