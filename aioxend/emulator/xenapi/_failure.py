"""The one exception of the emulator's Xen-API side: a xapi error to send back.

Every handler raises ``Failure(code, *params)``; each wire turns it into its own error
form (the XML-RPC ``ErrorDescription`` list, the JSON-RPC error object). Parameters are
strings on the wire, as xapi's ``Api_errors.Server_error`` carries them.
"""

from __future__ import annotations

__all__ = ["Failure"]


class Failure(Exception):
    """A Xen-API error: ``code`` (``"HANDLE_INVALID"``) and its string parameters."""

    def __init__(self, code: str, *params: object) -> None:
        super().__init__(code, *params)
        self.code = code
        self.params = [str(p) for p in params]

    @property
    def description(self) -> list[str]:
        """The error as xapi's ``ErrorDescription``: the code, then the parameters."""
        return [self.code, *self.params]
