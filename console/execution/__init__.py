"""Execution: confirmed tickets → orders with client ids, legs, journal, reconciliation.

The public surface the UI and the CLI use:

- ``Journal`` (journal.py): the SQLite record of every ticket, order, fill and transition.
- ``Executor`` (executor.py): sends a confirmed ticket, tracks its legs, kill switch.
- ``reconcile`` (reconcile.py): journal vs venue at startup and on demand.
"""

from console.execution.journal import Journal, JournalError
from console.execution.lifecycle import OrderState, TicketState

__all__ = ["Journal", "JournalError", "OrderState", "TicketState"]
