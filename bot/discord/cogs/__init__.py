"""One cog per capability; each stays thin: parse input, call a service, reply."""
