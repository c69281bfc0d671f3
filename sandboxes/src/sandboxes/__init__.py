"""Local stand-ins for the services the bot talks to, so it runs offline end to end."""
