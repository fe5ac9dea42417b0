"""UPS: return shipments (Print Return Label) plus an on-call pickup, over UPS's REST APIs (see README.md)."""
