"""The blocking Xen-API client: ``aioxend.xenapi.connect``'s, with blocking methods.

::

    from aioxend.sync import xenapi

    with xenapi.connect("https://pool-master.example/",
                        username="root", password="...") as xapi:
        for ref, vm in xapi.VM.get_all_records().items():
            print(vm.name_label, vm.power_state)

``connect`` logs in before it returns (a wrong password raises there) and ``close()``
logs out. Every Xen-API class is an attribute, as on the async client, with the same
typed methods, blocking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aioxend._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from aioxend.sync._generated.xenapi import XenAPIClient
    from aioxend.sync.xenapi._open import connect

__all__ = ["XenAPIClient", "connect"]

__getattr__, __dir__ = _lazy_names(
    __name__,
    {"XenAPIClient": "aioxend.sync._generated.xenapi", "connect": "._open"},
)
