"""Internal: where the session's AWS credentials go (objects the session owns).

Each integration reacts to the session's changes and keeps its own state; none reads the
session's privates. The kernel's defaults are built by :func:`nb_cognito.kernel.default_integrations`.
"""
