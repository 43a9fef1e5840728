"""Enumerations of the domain vocabulary (SPEC §3); values are what the API shows."""

from enum import StrEnum


class CustomerTier(StrEnum):
    STANDARD = "standard"
    PRIORITY = "priority"
    LOYAL = "loyal"


class ProductKind(StrEnum):
    PRINTER = "printer"
    SERVER = "server"
    CAR = "car"
    OTHER = "other"


class SkillLevel:
    MIN = 1
    MAX = 5


class WarehouseKind(StrEnum):
    CENTRAL = "central"
    REGIONAL = "regional"
    VAN = "van"
    QUARANTINE = "quarantine"
    DEALERSHIP = "dealership"


class MovementKind(StrEnum):
    RECEIVE = "receive"
    RESERVE = "reserve"
    RELEASE = "release"
    ISSUE = "issue"
    RETURN = "return"
    TRANSFER = "transfer"
    SCRAP = "scrap"


class TicketChannel(StrEnum):
    PHONE = "phone"
    WEB = "web"
    EMAIL = "email"
    WALK_IN = "walk_in"
    IVR = "ivr"


class TicketCategory(StrEnum):
    REQUEST = "request"
    COMPLAINT = "complaint"
    INFORMATION = "information"
    ROADSIDE = "roadside"


class TicketStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class WorkOrderType(StrEnum):
    BREAKDOWN = "breakdown"
    PREVENTIVE = "preventive"
    INSTALLATION = "installation"
    RECALL = "recall"
    INSPECTION = "inspection"


class WorkOrderStatus(StrEnum):
    NEW = "new"
    SCHEDULED = "scheduled"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    ON_HOLD = "on_hold"
    CANNOT_COMPLETE = "cannot_complete"
    CANCELLED = "cancelled"


class RmaType(StrEnum):
    RETURN_FOR_CREDIT = "return_for_credit"
    REPAIR_AND_RETURN = "repair_and_return"
    ADVANCE_EXCHANGE = "advance_exchange"
    RETURN_TO_VENDOR = "return_to_vendor"


class RmaStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REPLACEMENT_SHIPPED = "replacement_shipped"
    DEFECTIVE_RECEIVED = "defective_received"
    INSPECTED = "inspected"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Entitlement(StrEnum):
    WARRANTY = "warranty"
    CONTRACT = "contract"
    RECALL = "recall"
    CHARGEABLE = "chargeable"
    GOODWILL = "goodwill"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


class AppointmentStatus(StrEnum):
    INVITED = "invited"
    BOOKED = "booked"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class InteractionChannel(StrEnum):
    CALL = "call"
    MESSAGE = "message"
    EMAIL = "email"
    VISIT = "visit"
    NOTIFICATION = "notification"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    DISPATCHER = "dispatcher"
    AGENT = "agent"
    TECHNICIAN = "technician"
    DEALERSHIP = "dealership"
