"""FedEx: return shipments plus an on-call pickup, over FedEx's REST APIs (see README.md)."""
