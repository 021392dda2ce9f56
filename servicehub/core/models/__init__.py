"""The hub's typed ORM models, one aggregate per module; importing this registers them all."""

from servicehub.core.models.accounts import Account, AccountKind, AccountOperator, Health, PollCursor
from servicehub.core.models.audit import AuditEvent
from servicehub.core.models.customers import Customer, CustomerIdentity
from servicehub.core.models.messages import ListeningTask, Message
from servicehub.core.models.org import (
    Grant,
    Organization,
    OrgKind,
    Presence,
    Role,
    Scope,
    Team,
    User,
    user_roles,
    user_teams,
)
from servicehub.core.models.outbound import DeliveryState, ErrorKind, OutboundKind, OutboundMessage
from servicehub.core.models.requests import (
    OPEN_STATES,
    Assignment,
    Priority,
    RequestState,
    ServiceRequest,
)
from servicehub.core.models.routing_rules import RoutingPolicy, RoutingRule, Strategy

__all__ = [
    "OPEN_STATES",
    "Account",
    "AccountKind",
    "AccountOperator",
    "Assignment",
    "AuditEvent",
    "Customer",
    "CustomerIdentity",
    "DeliveryState",
    "ErrorKind",
    "Grant",
    "Health",
    "ListeningTask",
    "Message",
    "OrgKind",
    "Organization",
    "OutboundKind",
    "OutboundMessage",
    "PollCursor",
    "Presence",
    "Priority",
    "RequestState",
    "Role",
    "RoutingPolicy",
    "RoutingRule",
    "Scope",
    "ServiceRequest",
    "Strategy",
    "Team",
    "User",
    "user_roles",
    "user_teams",
]
