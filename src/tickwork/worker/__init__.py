"""Running jobs: executors per job type, and the worker interface the engine hands runs to."""
