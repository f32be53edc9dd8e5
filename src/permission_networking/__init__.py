"""
Decide, before acting, whether a relationship entitles a sender to act.

Keep the history of each ``(sender, contact)`` pair as an append-only log of
`Interaction` values, fold it into a `Relationship` with `replay`, and ask a
guard such as `check` before you message, pitch, call or market.
"""

from __future__ import annotations

from ._decision import WARNING_CODES, Decision, Reason, ReasonCode
from ._guards import (
    Guard,
    can_add_to_list,
    can_ask_favor,
    can_call,
    can_connect,
    can_message,
    can_pitch,
    can_promote_in_group,
    can_request_meeting,
    can_request_opt_in,
    can_send_marketing,
    can_share_value,
    check,
    require,
)
from ._jurisdiction import policy_for
from ._machine import TRANSITIONS, Transition, state_diagram
from ._partitions import merge_screenings, screen_partitions
from ._policy import Policy, PolicySettings
from ._relationship import DEFAULT_ENGAGEMENT_TTL, OptOut, Relationship, replay
from ._rules import ObligationCheck, Request, Rule, RuleCheck
from ._screen import Screening, screen
from ._time import Duration, Instant
from ._values import (
    Action,
    Basis,
    Channel,
    Direction,
    Evidence,
    Interaction,
    InteractionKind,
    Permission,
    Purpose,
    PurposeLike,
    RelationshipState,
)
from .exceptions import (
    ConflictError,
    ImportFormatError,
    InvalidInteraction,
    InvalidRequest,
    PermissionDenied,
    PermissionNetworkingError,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
)
from .receipts import Controller, receipt
from .stores import MemoryStore, Problem, SQLiteStore, Store, Verification


__all__ = [
    "DEFAULT_ENGAGEMENT_TTL",
    "TRANSITIONS",
    "WARNING_CODES",
    "Action",
    "Basis",
    "Channel",
    "ConflictError",
    "Controller",
    "Decision",
    "Direction",
    "Duration",
    "Evidence",
    "Guard",
    "ImportFormatError",
    "Instant",
    "Interaction",
    "InteractionKind",
    "InvalidInteraction",
    "InvalidRequest",
    "MemoryStore",
    "ObligationCheck",
    "OptOut",
    "Permission",
    "PermissionDenied",
    "PermissionNetworkingError",
    "Policy",
    "PolicySettings",
    "Problem",
    "Purpose",
    "PurposeLike",
    "Reason",
    "ReasonCode",
    "Relationship",
    "RelationshipState",
    "Request",
    "Rule",
    "RuleCheck",
    "SQLiteStore",
    "SchemaVersionError",
    "Screening",
    "Store",
    "StoreClosedError",
    "StoreError",
    "Transition",
    "Verification",
    "can_add_to_list",
    "can_ask_favor",
    "can_call",
    "can_connect",
    "can_message",
    "can_pitch",
    "can_promote_in_group",
    "can_request_meeting",
    "can_request_opt_in",
    "can_send_marketing",
    "can_share_value",
    "check",
    "merge_screenings",
    "policy_for",
    "receipt",
    "replay",
    "require",
    "screen",
    "screen_partitions",
    "state_diagram",
]
