"""Internal: the notebook front ends — the magics, the sign-in widget and the status report.

They drive the public session API and know nothing the session does not show publicly.
"""
