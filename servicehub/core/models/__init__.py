"""The hub's typed ORM models, one aggregate per module; importing this registers them all."""

from servicehub.core.models.accounts import (
    Account,
    AccountKind,
    AccountOperator,
    AccountPause,
    Health,
    PollCursor,
)
from servicehub.core.models.audit import AuditEvent
from servicehub.core.models.customers import CrmEntry, Customer, CustomerIdentity
from servicehub.core.models.leads import LeadEvent, LeadStage, SalesLead
from servicehub.core.models.lexicon import KeywordTerm
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
from servicehub.core.models.outbound import (
    CONTACT_KINDS,
    PLATFORM_KINDS,
    DeliveryState,
    ErrorKind,
    OutboundKind,
    OutboundMessage,
)
from servicehub.core.models.requests import (
    CLOSED_STATES,
    OPEN_STATES,
    Assignment,
    Priority,
    RequestState,
    ServiceRequest,
)
from servicehub.core.models.routing_rules import RoutingPolicy, RoutingRule, Strategy
from servicehub.core.models.sessions import WebSession
from servicehub.core.models.workday import (
    Announcement,
    AnnouncementRead,
    Notification,
    RequestNote,
    RequestViewer,
    Snippet,
)
from servicehub.core.models.workorders import WorkOrder, WorkOrderKind, WorkOrderState, WorkOrderStep

__all__ = [
    "CLOSED_STATES",
    "CONTACT_KINDS",
    "OPEN_STATES",
    "PLATFORM_KINDS",
    "Account",
    "AccountKind",
    "AccountOperator",
    "AccountPause",
    "Announcement",
    "AnnouncementRead",
    "Assignment",
    "AuditEvent",
    "CrmEntry",
    "Customer",
    "CustomerIdentity",
    "DeliveryState",
    "ErrorKind",
    "Grant",
    "Health",
    "KeywordTerm",
    "LeadEvent",
    "LeadStage",
    "ListeningTask",
    "Message",
    "Notification",
    "OrgKind",
    "Organization",
    "OutboundKind",
    "OutboundMessage",
    "PollCursor",
    "Presence",
    "Priority",
    "RequestNote",
    "RequestState",
    "RequestViewer",
    "Role",
    "RoutingPolicy",
    "RoutingRule",
    "SalesLead",
    "Scope",
    "ServiceRequest",
    "Snippet",
    "Strategy",
    "Team",
    "User",
    "WebSession",
    "WorkOrder",
    "WorkOrderKind",
    "WorkOrderState",
    "WorkOrderStep",
    "user_roles",
    "user_teams",
]
