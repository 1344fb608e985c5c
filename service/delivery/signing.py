"""Standard Webhooks signatures, made by the spec's reference library.

``webhook-signature`` holds one ``v1,<base64 HMAC-SHA256 of id.timestamp.body>`` per
secret, space-separated: during a rotation a receiver holding either secret verifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

USER_AGENT = "intake-webhooks/1"


class Signer:
    def __init__(self, secrets: Sequence[SecretStr]) -> None:
        self._keys = [Webhook(secret.get_secret_value()) for secret in secrets]

    def headers(self, webhook_id: str, moment: datetime, body: str) -> dict[str, str]:
        moment = moment.astimezone(UTC)  # the library reads the wall time as UTC
        signatures = " ".join(key.sign(webhook_id, moment, body) for key in self._keys)
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signatures,
        }
