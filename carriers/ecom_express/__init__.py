"""Ecom Express: reverse pickups through the Ecom Express API v2 (fetch AWB, reverse manifest, track)."""
