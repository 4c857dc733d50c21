"""The ``tickwork`` command line: the server, and a client of the native REST API."""
