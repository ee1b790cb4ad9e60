"""An emulated Xen-API server: a xapi pool (XenServer, XCP-ng) or xend's Xen-API.

No Xen host is needed. ``XenAPIServer`` serves an in-memory pool over real sockets,
with the records, sessions and errors of the datamodel vendored in
``aioxend/xenapi/data``::

    async with XenAPIServer(tcp="127.0.0.1:0", unix="/tmp/xapi.sock", hosts=2) as srv:
        srv.urls          # ["http://127.0.0.1:PORT/", "httpu:///tmp/xapi.sock"]
        srv.member_urls   # ["http://127.0.0.2:PORT/"]: login there is HOST_IS_SLAVE
        srv.pool.vm("vm1")                       # the ref of a VM
        srv.pool.add_vm("web", "Running")        # one more (Halted by default)
        srv.expire_session()                     # every session: SESSION_INVALID next
        srv.lose_events()                        # EVENTS_LOST for event.from/event.next
        srv.fail_next(2, "INTERNAL_ERROR", "boom", method="VM.start")
        srv.faults.add("drop_mid", "VM.get_record")  # transport faults, as for xend
        srv.kill_master()                        # "crash" (refused, reset) or "hang"
        srv.promote(srv.member_urls[0])          # that member is the master now

    with XenAPIServer.in_thread(tcp="127.0.0.1:0") as srv:   # for synchronous code
        session = XenAPI.Session(srv.url)

``Emulator(xenapi_tcp=..., xenapi_unix=...)`` and ``aioxend emulator --xenapi-tcp
HOST:PORT --xenapi-unix PATH`` serve one beside the legacy xend protocols.

Users and passwords (``users=`` replaces them): ``root`` / ``xenroot``, ``admin`` /
``admin`` (both ``pool-admin``) and ``reader`` / ``reader`` (RBAC role ``read-only``:
a call its role may not make is ``RBAC_PERMISSION_DENIED``; ``roles=`` maps users to
roles). A wrong password is ``SESSION_AUTHENTICATION_FAILED``; xend has no roles.

What is served:

- XML-RPC on ``POST /`` and ``/RPC2`` (Status/Value envelope, ints as strings,
  datetimes as ``dateTime.iso8601``); JSON-RPC v1.0 and v2.0 on ``POST /jsonrpc``
  (ints as numbers; errors ``{"code": 1, "message": CODE, "data": [params]}``).
- A pool of ``hosts`` hosts (the first the master) and VMs ``vm1``..``vmN`` in the
  states Running, Halted, Paused, Suspended, Running... (``vm1`` runs, ``vm2`` is
  halted, ``vm3`` paused), plus one control domain per host; every record has every
  field of the datamodel, with its default where the emulator sets nothing.
- Every implicit message of every class (``get_<field>``, ``set_<field>``,
  ``get_record``, ``get_all``, ``get_all_records``, ``get_by_uuid``,
  ``get_by_name_label``, ``add_to_``/``remove_from_``, ``create``, ``destroy``), the
  session, VM power (``start``, ``start_on``, ``clean_shutdown``, ``hard_shutdown``,
  ``shutdown``, ``clean_reboot``, ``hard_reboot``, ``pause``, ``unpause``, ``suspend``,
  ``resume``, ``resume_on``, ``power_state_reset``), ``VM.clone``/``copy``/``snapshot``,
  the VCPU and memory setters (in the power states xapi allows), explicit setters of
  plain fields, ``host.get_servertime``, ``task.create``/``destroy``/``cancel``, ``event.from``
  (blocking up to its timeout; token ``""`` gives every object as ``add``),
  ``event.inject``, ``event.get_current_id``, ``event.register``/``next``/``unregister``
  (xend's queue of 50 per session; ``next`` blocks until an event), and ``Async.*`` (a
  task, finished at once or ``pending`` for ``task_duration`` seconds, its progress
  stepping meanwhile, cancellable on xapi). ``srv.lose_events()`` makes event clients
  resynchronise (``EVENTS_LOST``). Other explicit messages answer ``NOT_IMPLEMENTED``.
  ``reader``'s role is ``read-only``.
- A local SR ("Local storage", with its PBD) on every host, the master's the pool's
  default SR, and the HTTP handlers beside the RPC (``_transfer``): ``PUT /import``,
  ``GET /export``, ``PUT /import_raw_vdi``, ``GET /export_raw_vdi``, under the task
  named by ``task_id``, with the ``302`` to the host whose SR it is; uploads are kept
  in a temporary folder (``srv.store``, at most ``transfer_limit`` bytes, removed on
  stop). ``task.create`` makes a task for them; ``task.cancel`` marks it cancelling.
- xapi's errors: ``SESSION_INVALID``, ``HOST_IS_SLAVE [master address]``,
  ``HANDLE_INVALID [class, handle]``, ``UUID_INVALID``, ``VM_BAD_POWER_STATE [vm,
  expected, actual]`` (lower-case states), ``MESSAGE_PARAMETER_COUNT_MISMATCH [method,
  expected, received]``, ``MESSAGE_METHOD_UNKNOWN [method]``, ``FIELD_TYPE_ERROR``,
  ``MAP_DUPLICATE_KEY``, ``MESSAGE_REMOVED``. Sessions idle for ``session_timeout``
  seconds (24 h) expire; at most ``max_sessions`` (500) per originator and per user.

``dialect="xend"`` is xend's Xen-API (Xen 3.1 to 4.4, ``xend/XendAPI.py``): XML-RPC only
(``/jsonrpc`` is a 404), ``session.login_with_password`` with exactly 2 arguments,
UUIDs as references, counts in ``MESSAGE_PARAMETER_COUNT_MISMATCH`` that include the
session, capitalised states in ``VM_BAD_POWER_STATE``, datetimes without ``Z``,
sessions that never expire, one host, and only the classes xend had (no ``pool``: its
messages are ``MESSAGE_METHOD_UNKNOWN``).
"""

from aioxend.emulator.xenapi._failure import Failure
from aioxend.emulator.xenapi._pool import DEFAULT_ROLES, DEFAULT_USERS, DIALECTS, Pool
from aioxend.emulator.xenapi._server import XenAPIServer

__all__ = ["DEFAULT_ROLES", "DEFAULT_USERS", "DIALECTS", "Failure", "Pool", "XenAPIServer"]
