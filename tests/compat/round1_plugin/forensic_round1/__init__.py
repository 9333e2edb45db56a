"""A plugin written for plugin API 1.0 (frozen)."""
