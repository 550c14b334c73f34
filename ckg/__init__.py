"""The ``ckg`` command line: one entry point for building, checking, exporting and serving."""
