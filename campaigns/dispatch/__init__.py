"""The dispatcher: sends due deliveries per channel account, paced, under a lease.

Entry points: `run_account(account_id)` (the dispatch task's body), `accounts_to_wake(now)`
(the beat tick), `sweep()` (periodic recovery). See DESIGN.md "The outbox and the dispatcher".
"""

from campaigns.dispatch import shutdown
from campaigns.dispatch.claim import accounts_to_wake
from campaigns.dispatch.dispatcher import Dispatcher, RunStats, run_account
from campaigns.dispatch.recovery import sweep

__all__ = ["Dispatcher", "RunStats", "accounts_to_wake", "run_account", "shutdown", "sweep"]
