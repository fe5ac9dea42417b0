"""Every Redis key Backhaul uses, built in one place.

Keys of one merchant carry the hash tag ``{m}`` so that the keys one operation touches
together live in one Redis Cluster slot.

==================================  ======  ==============================================  =========
key                                 type    what                                            TTL
==================================  ======  ==============================================  =========
<p>merchant:<mid>                   string  Merchant JSON                                   none
<p>apikey:<sha256>                  string  merchant id of a hashed API key                 none
<p>{<mid>}:return:<rid>             string  Return JSON (the merchant-facing document)      none
<p>{<mid>}:returns                  zset    return ids by creation time (ms)                none
<p>{<mid>}:returns:s:<status>       zset    return ids in one status, by creation time      none
<p>{<mid>}:return:<rid>:events      hash    fingerprint -> TrackingEvent JSON (dedupe)      none
<p>{<mid>}:return:<rid>:raw         list    newest raw carrier payloads, bounded            none
<p>{<mid>}:idem:<key>               hash    idempotency record: body hash, state, response  24 h
<p>token:<token>                    string  "<mid> <rid>" for the tracking page            none
<p>awb:<carrier>:<awb>              string  "<mid> <rid>" of a booked AWB                   none
<p>poll:due                         zset    "<mid> <rid>" by next poll time (epoch s)      none
<p>{<mid>}:feed                      stream  the merchant's unified event feed (MAXLEN ~)     none
<p>inbound                           stream  raw carrier webhook bodies for the workers     none
<p>inbound:dead                      list    webhook bodies no parser accepts, for ops     none
<p>{svc}:<carrier>                  string  serviceability bitmap, 2 bits per PIN (rules)   none
<p>{svc}:<carrier>:loading          string  a table being loaded, renamed over the live one none
<p>{svc}:carriers                   hash    carrier -> table meta JSON (rows, countries)    none
<p>{svc}:version                    string  bumped by every table load; snapshots reload     none
<p>{learn}:<carrier>                hash    area -> decayed pickup outcome stats (JSON)     none
<p>{learn}:version                  string  bumped by every recorded outcome                none
<p>cap:<carrier>:<yyyy-mm-dd>       string  pickups booked that day (UTC) against the cap  end of day
<p>{<mid>}:order:<oid>:returns      string  returns created for one order (policy)          none
<p>{<mid>}:reviews                  zset    return ids waiting for review, by creation ms   none
<p>{<mid>}:return:<rid>:booking     string  booking lease: one booker walks the carriers    60 s
<p>wh:merchants                      set     merchants with webhook endpoints (dispatcher)  none
<p>{<mid>}:wh:endpoints              zset    webhook endpoint ids by creation time (ms)      none
<p>{<mid>}:wh:endpoint:<eid>         string  webhook endpoint JSON, with its signing secret  none
<p>{<mid>}:wh:q:<eid>:<rid>          list    queued webhook messages of one return, FIFO     none
<p>{<mid>}:wh:due                    zset    "<eid> <rid>" FIFO heads by next try (epoch s)  none
<p>{<mid>}:wh:reader                 string  the dispatcher reading this feed (lease)       webhook_reclaim_idle_s
<p>{<mid>}:wh:log:<eid>              list    newest webhook delivery attempts, bounded       none
<p>{<mid>}:wh:dead:<eid>             list    dead-lettered webhook messages, bounded         none
==================================  ======  ==============================================  =========
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key builder bound to one prefix (tests use a prefix per test)."""

    prefix: str = "bh:"

    def merchant(self, mid: str) -> str:
        return f"{self.prefix}merchant:{mid}"

    def api_key(self, key_hash: str) -> str:
        return f"{self.prefix}apikey:{key_hash}"

    def return_doc(self, mid: str, rid: str) -> str:
        return f"{self.prefix}{{{mid}}}:return:{rid}"

    def returns(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:returns"

    def returns_by_status(self, mid: str, status: str) -> str:
        return f"{self.prefix}{{{mid}}}:returns:s:{status}"

    def events(self, mid: str, rid: str) -> str:
        return f"{self.prefix}{{{mid}}}:return:{rid}:events"

    def raw_payloads(self, mid: str, rid: str) -> str:
        return f"{self.prefix}{{{mid}}}:return:{rid}:raw"

    def idempotency(self, mid: str, key: str) -> str:
        return f"{self.prefix}{{{mid}}}:idem:{key}"

    def token(self, token: str) -> str:
        return f"{self.prefix}token:{token}"

    def awb(self, carrier: str, awb: str) -> str:
        return f"{self.prefix}awb:{carrier}:{awb}"

    def poll_due(self) -> str:
        return f"{self.prefix}poll:due"

    def feed(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:feed"

    def inbound(self) -> str:
        return f"{self.prefix}inbound"

    def inbound_dead(self) -> str:
        return f"{self.prefix}inbound:dead"

    def webhook_merchants(self) -> str:
        return f"{self.prefix}wh:merchants"

    def webhook_endpoints(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:wh:endpoints"

    def webhook_endpoint(self, mid: str, eid: str) -> str:
        return f"{self.prefix}{{{mid}}}:wh:endpoint:{eid}"

    def webhook_queue(self, mid: str, eid: str, rid: str) -> str:
        return f"{self.prefix}{{{mid}}}:wh:q:{eid}:{rid}"

    def webhook_due(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:wh:due"

    def webhook_reader(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:wh:reader"

    def webhook_log(self, mid: str, eid: str) -> str:
        return f"{self.prefix}{{{mid}}}:wh:log:{eid}"

    def webhook_dead(self, mid: str, eid: str) -> str:
        return f"{self.prefix}{{{mid}}}:wh:dead:{eid}"

    # The rules layer (gateway/rules/): serviceability tables, learned outcomes, capacity, reviews.

    def serviceability(self, carrier: str) -> str:
        return f"{self.prefix}{{svc}}:{carrier}"

    def serviceability_staging(self, carrier: str) -> str:
        return f"{self.prefix}{{svc}}:{carrier}:loading"

    def serviceability_meta(self) -> str:
        return f"{self.prefix}{{svc}}:carriers"

    def serviceability_version(self) -> str:
        return f"{self.prefix}{{svc}}:version"

    def outcomes(self, carrier: str) -> str:
        return f"{self.prefix}{{learn}}:{carrier}"

    def outcomes_version(self) -> str:
        return f"{self.prefix}{{learn}}:version"

    def capacity(self, carrier: str, day: str) -> str:
        return f"{self.prefix}cap:{carrier}:{day}"

    def order_returns(self, mid: str, order_id: str) -> str:
        return f"{self.prefix}{{{mid}}}:order:{order_id}:returns"

    def reviews(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:reviews"

    def booking_lock(self, mid: str, rid: str) -> str:
        return f"{self.prefix}{{{mid}}}:return:{rid}:booking"
