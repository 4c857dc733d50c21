"""The SchedulerX 2019-04-30 OpenAPI (RPC style) on ``/``: a translation to the service layer.

``endpoint`` receives the call, ``signature`` checks who sent it, ``params`` reads its
parameters, ``actions/`` translate each action to the services and back, ``envelope`` renders
the answer (JSON, or XML when asked) and ``errors`` maps tickwork errors to SchedulerX codes.
No scheduling rule lives here.
"""
