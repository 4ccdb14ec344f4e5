"""Every mapped table, imported in one place so migrations and tests see the whole schema."""

from identa.analytics import models as analytics_models
from identa.clients import models as clients_models
from identa.connections import models as connections_models
from identa.console import models as console_models
from identa.db.base import Base
from identa.enrichment import models as enrichment_models
from identa.events import models as events_models
from identa.events.streams import models as streams_models
from identa.flows import models as flows_models
from identa.identity import models as identity_models
from identa.jobs import models as jobs_models
from identa.notify import models as notify_models
from identa.oidc import models as oidc_models
from identa.profiling import models as profiling_models
from identa.rules import models as rules_models
from identa.sessions import models as sessions_models
from identa.tenants import models as tenants_models

metadata = Base.metadata

__all__ = [
    "analytics_models",
    "clients_models",
    "connections_models",
    "console_models",
    "enrichment_models",
    "events_models",
    "flows_models",
    "identity_models",
    "jobs_models",
    "metadata",
    "notify_models",
    "oidc_models",
    "profiling_models",
    "rules_models",
    "sessions_models",
    "streams_models",
    "tenants_models",
]
