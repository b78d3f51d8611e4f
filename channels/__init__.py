"""Delivery through Apprise: (channel URL, recipient, message) → one notification → a result.

Knows nothing of the database and never imports Qt or ``console``: the dispatcher gives
it what to send and stores what comes back. Channel URLs are secrets; everything this
package shows or logs is a privacy form of them (:mod:`channels.secrecy`).
"""

from typing import TYPE_CHECKING, Any

from channels.errors import ChannelAddressError, ChannelError, ChannelURLError
from channels.render import (
    SEVERITIES,
    Rendered,
    ServiceLimits,
    as_html,
    call_to_action,
    notify_type_for,
    render,
    service_limits,
)
from channels.urls import KINDS, fill_address, mask_url, remask, target_count, validate_channel_url
from channels.vocabulary import PERSONAL_KINDS

if TYPE_CHECKING:
    from channels.deliver import Deliverer, DeliveryResult, DeliveryStatus, Outgoing

_DELIVERY = frozenset({"Deliverer", "DeliveryResult", "DeliveryStatus", "Outgoing"})


def __getattr__(name: str) -> Any:
    """Delivery names are imported when first used: only a sender needs Apprise's plugins and
    HTTP stack, and the desktop's first window shows sooner without them."""
    if name in _DELIVERY:
        from channels import deliver

        value = globals()[name] = getattr(deliver, name)
        return value
    raise AttributeError(f"module 'channels' has no attribute {name!r}")


__all__ = [
    "KINDS",
    "PERSONAL_KINDS",
    "SEVERITIES",
    "ChannelAddressError",
    "ChannelError",
    "ChannelURLError",
    "Deliverer",
    "DeliveryResult",
    "DeliveryStatus",
    "Outgoing",
    "Rendered",
    "as_html",
    "ServiceLimits",
    "call_to_action",
    "fill_address",
    "mask_url",
    "notify_type_for",
    "remask",
    "render",
    "service_limits",
    "target_count",
    "validate_channel_url",
]
