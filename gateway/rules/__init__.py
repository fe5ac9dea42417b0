"""The rules layer: which carriers may take a return and in what order, and whether it may be returned.

Modules, one concept each: `zones` (PIN pair -> zone), `serviceability` (per-carrier PIN tables in
Redis with an in-process snapshot), `rates` (rate cards), `learning` (pickup outcomes per carrier
and area), `capacity` (daily caps), `merchant_rules` (YAML rules), `allocation` (the pure ranking),
`policy` (return policy), `commands` (the `backhaul serviceability` CLI).
"""
