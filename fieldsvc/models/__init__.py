"""The domain model (SPEC §3), one aggregate per module.

Feature packages keep their own models (`fieldsvc.recall.models`); they are imported at the
end so that importing this package registers every core table on the shared metadata.
"""

from fieldsvc.models.audit import AuditEntry
from fieldsvc.models.base import Base, utcnow
from fieldsvc.models.contract import ServiceContract, SlaTarget
from fieldsvc.models.customer import Customer, Site
from fieldsvc.models.dispatch import InsertionProposal
from fieldsvc.models.interaction import Interaction
from fieldsvc.models.inventory import Part, StockLevel, StockMovement, Warehouse
from fieldsvc.models.optimization import OptimizationRun
from fieldsvc.models.pm import PmPlan, PmPlanAsset, PmPlanPart, PmPlanSkill
from fieldsvc.models.product import (
    Asset,
    AssetContract,
    MeterReading,
    Product,
    ProductSkill,
)
from fieldsvc.models.report import ServiceIndexWeight
from fieldsvc.models.ticket import Ticket
from fieldsvc.models.token import AuthToken
from fieldsvc.models.user import User
from fieldsvc.models.work_order import (
    WorkOrder,
    WorkOrderPart,
    WorkOrderSkill,
    WorkOrderTransition,
    WorkOrderWindow,
)
from fieldsvc.models.workforce import (
    Absence,
    Certification,
    Shift,
    Skill,
    Technician,
    TechnicianSkill,
)

__all__ = [
    "Absence", "Asset", "AssetContract", "AuditEntry", "AuthToken", "Base", "Certification",
    "Customer", "InsertionProposal", "Interaction", "MeterReading", "OptimizationRun", "Part",
    "PmPlan", "PmPlanAsset", "PmPlanPart", "PmPlanSkill", "Product", "ProductSkill", "ServiceContract",
    "ServiceIndexWeight", "Shift", "Site", "Skill", "SlaTarget", "StockLevel", "StockMovement",
    "Technician", "TechnicianSkill", "Ticket", "User", "WorkOrder", "WorkOrderPart",
    "WorkOrderSkill", "WorkOrderTransition", "WorkOrderWindow", "Warehouse", "utcnow",
]

# A plain module import (no names): it also works when fieldsvc.recall.models is the
# first module imported and is still loading (it imports fieldsvc.models.base first).
import fieldsvc.events.models  # noqa: E402,F401
import fieldsvc.notify.models  # noqa: E402,F401
import fieldsvc.recall.models  # noqa: E402,F401
import fieldsvc.selfservice.models  # noqa: E402,F401
