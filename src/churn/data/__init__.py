"""The interaction history: its contract, validation, the view as of a date, and the demo business.

Bottom layer of churn (imports only `churn.vocab` and `churn.config`).
"""

from churn.data._contract import TABLES, ColumnSpec, TableSpec
from churn.data._crm import CRM_SYSTEMS, ExportFile, crm_export
from churn.data._demo import (
    CAMPAIGN_ACTIONS,
    Block,
    DemoHistory,
    generate_history,
    history_blocks,
    shift_order_sizes,
    weekly_runs,
)
from churn.data._history import data_end, point_in_time
from churn.data._ids import customer_hash, id_positions
from churn.data._links import link_customers_by_name
from churn.data._mapping import ColumnMatch, ExportMatch, MappingProposal, export_pattern, propose_mapping
from churn.data._personal import mask_emails, mask_history, mask_name, mask_names, mask_personal_columns, mask_phones
from churn.data._validate import ContractError, DataQualityError, ValidationResult, to_utc_naive, validate_history

__all__ = [
    "Block", "CAMPAIGN_ACTIONS", "CRM_SYSTEMS", "TABLES", "ColumnSpec", "ContractError", "DataQualityError", "DemoHistory",
    "ColumnMatch", "ExportFile", "ExportMatch", "MappingProposal", "TableSpec", "ValidationResult", "crm_export",
    "customer_hash", "data_end", "export_pattern", "generate_history", "history_blocks", "id_positions", "propose_mapping", "link_customers_by_name", "mask_emails", "mask_history",
    "mask_name", "mask_names", "mask_personal_columns", "mask_phones", "point_in_time", "shift_order_sizes",
    "to_utc_naive", "validate_history", "weekly_runs",
]
