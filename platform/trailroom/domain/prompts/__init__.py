"""Versioned prompt templates per try-on mode, with activation and rollback (prompt-driven engines)."""
