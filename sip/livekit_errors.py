"""What a request to LiveKit's server API (livekit-api) raises when it fails, in one place.

livekit-api raises ``api.ServerError`` (``TwirpError`` is its old name for the same class)
when LiveKit answered with an error. When no answer came, it lets through aiohttp's errors
(``aiohttp.ClientError``), a timeout (``TimeoutError``: its own, a dial's ringing timeout
plus 2 s, or ours, ``asyncio.timeout``) and socket errors: aiohttp wraps most of those in
``ClientOSError``, which is an ``OSError`` too, so catching ``OSError`` also holds the
few it does not wrap. A caller that treats LiveKit's answer apart from no answer catches
``api.ServerError`` first, then ``LIVEKIT_UNREACHABLE``; one that reads both through the
same table (``sip.statuses``) catches ``LIVEKIT_REQUEST_ERRORS``.
"""

from __future__ import annotations

import aiohttp
from livekit import api

# No answer from LiveKit: the network, aiohttp, or a timeout.
LIVEKIT_UNREACHABLE = (aiohttp.ClientError, TimeoutError, OSError)
# Everything a failed request raises: LiveKit's own error answer, or no answer.
LIVEKIT_REQUEST_ERRORS = (api.ServerError, *LIVEKIT_UNREACHABLE)
