"""What the local server's SIP admin API shares: trunks (:mod:`fakes.livekit_sip_trunks`)
and dispatch rules (:mod:`fakes.livekit_sip_rules`), listed, created, updated (replace or
field update) and deleted.

From livekit-server ``pkg/service/sip.go`` and ``redisstore_sip.go`` and livekit/protocol
``livekit/sip.go`` (the ``Validate*``/``Apply*`` methods), ``livekit/types.go`` (``ListUpdate``)
and ``sip/sip.go`` (``ValidateTrunksIter``, ``DispatchRuleValidator``), with their messages:

* What ``Validate`` rejects is a Twirp ``invalid_argument`` with the message as it is; so
  are conflicts between inbound trunks (a number served twice without ``allowed_numbers``)
  and between dispatch rules (the same trunk, caller, called number and PIN).
* A missing object on update is ``not_found`` "requested sip trunk does not exist" (no
  prefix); deleting a trunk that does not exist succeeds (Redis ``HDEL``); deleting a
  missing dispatch rule is ``not_found``.
* A field update that leaves an inbound trunk open fails after the load, as a psrpc error,
  hence relayed; other errors of an update's ``Apply`` are plain Go errors: ``unknown``.
* Without Redis (``sip_store`` False) every call answers ``ErrSIPNotConnected``, relayed.
* Lists are sorted by id and, whatever the page says, not cut at its ``limit``: see
  :func:`listed`.
* A field update applies ``media`` (whole) and ``media_encryption`` and then ``Upgrade``s
  the object (:func:`update_media`); so does creating a dispatch rule from its
  ``dispatch_rule`` (not from the deprecated fields). Other creates and replacements store
  the object as sent. Only ``media`` is validated of what Validate checks beyond the
  security and address rules; SIP headers are not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from google.protobuf.message import Message
from livekit.protocol import models
from livekit.protocol import sip as pb

from fakes.twirp import TwirpError, invalid_unless, relayed

M = TypeVar("M", bound=Message)

NOT_CONNECTED = relayed("internal", "sip not connected (redis required)")
ID_MISMATCH = "%s id in the info must be empty or match the id in the update"
_NUMBER = re.compile(r"^\+?[\d\- ()]+$")


def normalize(number: str) -> str:
    """livekit.NormalizeNumber: formatting dropped, a leading + added."""
    if not number or not _NUMBER.match(number):
        return number
    number = re.sub(r"[ \-()]", "", number)
    return number if number.startswith("+") else "+" + number


def go_quote(values: Iterable[str]) -> str:
    """fmt's %q of a []string (printNumbers): ["a" "b"], or <any> when empty."""
    values = list(values)
    return "[" + " ".join(f'"{v}"' for v in values) + "]" if values else "<any>"


def _list_update(update: models.ListUpdate) -> str | None:
    """ListUpdate.Validate's complaint, if any."""
    change = len(update.set) + len(update.add) + len(update.remove) > 0
    if not update.clear and not change:
        return "unsupported list update operation"
    if update.clear and change:
        return "cannot clear and change the list at the same time"
    if update.set and (update.add or update.remove):
        return "cannot set and change the list at the same time"
    if "" in [*update.set, *update.add, *update.remove]:
        return "empty element in the list"
    return None


def apply_list(values: Any, update: models.ListUpdate) -> None:
    """applyListUpdate (livekit/protocol ``livekit/types.go``): each ``remove`` takes out
    the first equal element only; an ``add`` already present is not added again."""
    if update.clear:
        del values[:]
    elif update.set:
        values[:] = list(update.set)
    else:
        kept = list(values)
        for value in update.remove:
            if value in kept:
                kept.remove(value)
        for value in update.add:
            if value not in kept:
                kept.append(value)
        values[:] = kept


class AdminBase:
    """What the trunk and dispatch-rule halves share: the store switch and the checks every
    Update* request passes first."""

    def __init__(self, **kwargs: Any) -> None:
        self.sip_store = True  # False: livekit-server started without Redis
        super().__init__(**kwargs)

    def _store(self) -> None:
        if not self.sip_store:
            raise NOT_CONNECTED

    def _update_action(self, req: Any, object_id: str, noun: str) -> str:
        """The checks every Update* request passes first (its ``Validate``): "replace" or
        "update"."""
        self._store()
        action = req.WhichOneof("action")
        invalid_unless(
            (object_id, f"{noun} id must be set"),
            (action, "missing or unsupported update action"),
        )
        if action == "replace":
            replaced = getattr(
                req.replace, "sip_trunk_id" if noun == "trunk" else "sip_dispatch_rule_id"
            )
            invalid_unless((replaced in ("", object_id), ID_MISMATCH % noun))
        return str(action)


def set_given(target: Any, diff: Any, *names: str) -> None:
    """applyUpdate: each optional field the update carries replaces the object's."""
    for name in names:
        if diff.HasField(name):
            setattr(target, name, getattr(diff, name))


def next_version(stored: dict[str, M], object_id: str, req: Any, missing: TwirpError) -> M:
    """The object an update makes: the replacement, or a copy of the stored one for the
    field update to change; ``missing`` when nothing has that id."""
    found = stored.get(object_id)
    if found is None:
        raise missing
    new = type(found)()
    new.CopyFrom(req.replace if req.WhichOneof("action") == "replace" else found)
    return new


def update_rules(update: Any, *names: str) -> list[tuple[object, str]]:
    """A field update's Validate: the ListUpdate checks of the lists it sets, in order,
    then its ``media``."""
    found = [_list_update(getattr(update, n)) for n in names if update.HasField(n)]
    rules = [(problem is None, problem or "") for problem in found]
    return rules + media_rules(update.media)


# redisIterPage (livekit-server pkg/service/redisstore.go): ids read per store page when the
# request's page sets no limit.
STORE_PAGE = 1000


def listed(items: Iterable[M], req: Any, key: str, wanted: Callable[[M], bool]) -> list[M]:
    """What a List* call answers. livekit-server's handler (pkg/service/sip.go) reads
    ``livekit.ListPageIter`` (livekit/protocol ``livekit/types.go``) to the end, so the
    request's page is only how it walks the store (``redisIterPage``/``sortPage``):

    * no ``page``: every stored object (HVALS), filtered, sorted by id;
    * a ``page``: only ids after ``after_id``, read ``limit`` ids at a time (1000 when
      unset) and filtered; the next read starts after the last object *kept*, and a read
      that keeps nothing ends the list -- so ``limit`` never caps the answer, but ``limit``
      consecutive objects the filter drops hide whatever follows them.
    """
    ordered = sorted(items, key=lambda item: str(getattr(item, key)))
    if not req.HasField("page"):
        return [item for item in ordered if wanted(item)]
    after, size = req.page.after_id, req.page.limit if req.page.limit > 0 else STORE_PAGE
    found: list[M] = []
    while True:
        batch = [item for item in ordered if getattr(item, key) > after][:size]
        kept = [item for item in batch if wanted(item)]
        if not kept:
            return found
        found += kept
        after = getattr(kept[-1], key)


def media_rules(media: pb.SIPMediaConfig) -> list[tuple[object, str]]:
    """SIPMediaConfig.Validate and SIPCodec.Validate (livekit/protocol ``livekit/sip.go``),
    in their order."""
    rules: list[tuple[object, str]] = []
    for codec in media.codecs:
        rules += [
            (codec.name, "missing codec name"),
            (not set(codec.name) & set(" \t\n\r"), "invalid codec name"),
            ("/" not in codec.name, "codec name must not contain '/'"),
        ]
    if media.HasField("media_timeout"):
        timeout = media.media_timeout.ToTimedelta()
        rules += [
            (timeout >= timedelta(0), "media_timeout must not be negative"),
            (timeout <= timedelta(minutes=10), "media_timeout must not exceed 10m0s"),
        ]
    return rules


def upgrade(info: Any) -> None:
    """SIP*Info.Upgrade: ``media`` always present; the legacy ``media_encryption`` copied
    into it when media names none and it is not DISABLE (the zero value: unset)."""
    info.media.SetInParent()
    if not info.media.HasField("encryption") and info.media_encryption:
        info.media.encryption = info.media_encryption


def update_media(info: Any, diff: Any) -> None:
    """updateMediaConfig: a given ``media`` replaces the object's whole, a given
    ``media_encryption`` is set, then Upgrade, then the legacy field takes media's
    encryption (DISABLE when none) -- so media's encryption wins over the legacy field."""
    if diff.HasField("media"):
        info.media.CopyFrom(diff.media)
    if diff.HasField("media_encryption"):
        info.media_encryption = diff.media_encryption
    upgrade(info)
    info.media_encryption = info.media.encryption
