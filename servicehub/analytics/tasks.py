"""Analytics tasks (being written)."""
