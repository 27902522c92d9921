"""How every version row learns who, why and through which channel (see models.VersionInfo).

Services call `stamp(instance, actor=..., channel=..., reason=...)` before `save()`; the history hook copies
the stamp into the version row. A save without a stamp is refused, so no change can enter unexplained.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from dtsen.core.errors import ApplicationError


class UnstampedChange(ApplicationError):
    code = "unstamped_change"


def stamp(
    instance: models.Model,
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    channel: str,
    reason: str,
    when: dt.datetime | None = None,
) -> None:
    instance._history_user = actor if actor is not None and actor.is_authenticated else None  # type: ignore[attr-defined]
    instance._history_channel = channel  # type: ignore[attr-defined]
    instance._change_reason = reason  # type: ignore[attr-defined]
    if when is not None:
        instance._history_date = when  # type: ignore[attr-defined]


def fill_version_info(sender: Any, instance: models.Model, history_instance: Any, **kwargs: Any) -> None:
    channel = getattr(instance, "_history_channel", None)
    if channel is None:
        raise UnstampedChange(
            "Perubahan data harus menyebut pelaku, kanal dan alasan.",
            "A change must name its actor, channel and reason.",
        )
    history_instance.history_channel = channel
    for attr in ("_history_channel", "_change_reason", "_history_date"):
        if hasattr(instance, attr):
            delattr(instance, attr)
