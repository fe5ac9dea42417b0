"""Ops: non-pickup reports, remediation, customer notifications, stuck shipments and alerts (docs/ops.md)."""
