"""All services of one server, built over one store and one engine."""

from __future__ import annotations

from dataclasses import dataclass

from tickwork.engine.engine import Engine
from tickwork.service.access import AccessService
from tickwork.service.instances import InstanceService
from tickwork.service.jobs import JobService
from tickwork.service.namespaces import NamespaceService
from tickwork.service.nonces import NonceService
from tickwork.service.overview import OverviewService
from tickwork.service.permissions import PermissionService
from tickwork.service.policies import PolicyService
from tickwork.settings import Settings
from tickwork.store.abc import Store


@dataclass(slots=True)
class Services:
    store: Store
    engine: Engine
    access: AccessService
    namespaces: NamespaceService
    jobs: JobService
    instances: InstanceService
    permissions: PermissionService
    policies: PolicyService
    nonces: NonceService
    overview: OverviewService

    @property
    def settings(self) -> Settings:
        """The server's settings (what the faces show of it: its address, the SchedulerX
        time zone), without reaching into the engine."""
        return self.engine.settings

    @classmethod
    def build(cls, store: Store, engine: Engine) -> Services:
        namespaces = NamespaceService(store, engine)
        jobs = JobService(store, engine, namespaces)
        access = AccessService(store)
        return cls(
            store=store,
            engine=engine,
            access=access,
            namespaces=namespaces,
            jobs=jobs,
            instances=InstanceService(store, engine, jobs),
            permissions=PermissionService(store, access),
            policies=PolicyService(store),
            nonces=NonceService(store),
            overview=OverviewService(store, engine),
        )
