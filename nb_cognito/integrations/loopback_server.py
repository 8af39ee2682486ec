"""Moved to :mod:`nb_cognito.loopback_server` (the hosted UI's callback in ``auth`` uses it too);
this name keeps working."""

from nb_cognito.loopback_server import Answer, LoopbackServer, Request, listen

__all__ = ["Answer", "LoopbackServer", "Request", "listen"]
