"""Entities, enums with their wire numbers, and errors. Pure: no I/O."""
