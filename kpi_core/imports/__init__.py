"""Imports: read a file or database table, shape it, validate it, load it as one batch."""
