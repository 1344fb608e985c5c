"""Webhook delivery per the Standard Webhooks spec: signing, retries, the deliverer loop,
the orphan sweeper and the long-running ``intake deliver`` process that runs both."""

from service.delivery.dispatcher import Deliverer, OutboxPort, Report
from service.delivery.signing import Signer

__all__ = ["Deliverer", "OutboxPort", "Report", "Signer"]
