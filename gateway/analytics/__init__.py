"""Returns analytics: counters kept as returns are created and events applied, and their queries."""
