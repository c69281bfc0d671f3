"""Use cases over ports and the store."""
