"""Persistence: one interface (``tickwork.store.abc.Store``), SQLAlchemy Core implementations."""
