"""The parts of ``bench/failover.py``: tickwork servers (and agents) on one PostgreSQL under load
while faults are made, and what the database and the runs' own output say afterwards.

- ``cluster``: the server and agent processes, started, killed, stopped and started again;
- ``load``: the jobs (shell jobs firing every second, one API job) and the API triggers;
- ``plan``: the faults, when, and making them happen;
- ``ran``: what really ran, from the file each run appends to;
- ``figures``: the figures, from the database and ``ran``;
- ``report``: the figures as JSON and as markdown tables.
"""
