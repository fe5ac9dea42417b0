"""Acme Parcel: a fictional JSON carrier, the complete example of docs/adding-a-carrier.md."""
