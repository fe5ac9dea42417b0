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
<p>return-owner:<rid>               string  merchant id of a return (ops return page)      none
<p>awb:<carrier>:<awb>              string  "<mid> <rid>" of a booked AWB                   none
<p>poll:due                         zset    "<mid> <rid>" by next poll time (epoch s)      none
<p>{<mid>}:feed                      stream  the merchant's unified event feed (MAXLEN ~)     none
<p>inbound                           stream  raw carrier webhook bodies for the workers     none
<p>inbound:dead                      list    webhook bodies no parser accepts, for ops     none
<p>observe                           stream  returns changed by webhooks, for the observers none
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
<p>{<mid>}:npr:<rid>                 string  the return's NPR case JSON (gateway/ops/npr.py) none
<p>ops:npr:open                     zset    "<mid> <rid>" open NPR cases by first failure   none
<p>ops:remediate:due                zset    "<mid> <rid>" remediation steps by due time     none
<p>ops:stuck:due                    zset    "<mid> <rid>" by when its status goes stale    none
<p>ops:stuck:flagged                zset    "<mid> <rid>" stuck now, by when it went stale  none
<p>{<mid>}:ops:since                hash    rid -> "<status> <carrier> <epoch s>" entered   none
<p>ops:dur:<carrier>:<status>       list    newest seconds spent in a status, bounded       none
<p>ops:turnaround:<carrier>         list    newest booked-to-picked-up seconds, bounded     none
<p>ops:health:<carrier>             hash    pickup outcome and NPR reason counters          none
<p>ops:alert:<aid>                  string  alert JSON                                      none
<p>ops:alerts                       zset    alert ids by last change (epoch s), bounded    none
<p>ops:alerts:open                  hash    dedupe key -> open alert id                    none
<p>ops:alerts:cooldown              hash    dedupe key -> epoch s until it may notify again none
<p>ops:alerts:outbox                list    alert notifications waiting for the sinks       none
<p>{<mid>}:alerts                   zset    alert ids about the merchant's returns          none
<p>ops:users                        hash    ops user name -> password hash                  none
<p>ops:session:<sid>                string  ops user name of a console session              ops.session_ttl_s
<p>ops:login:fail:<ip>:<window>     string  failed console logins from one address         15 min
<p>{<mid>}:orderdoc:<oid>            string  Order JSON (what the customer may return)      none
<p>{<mid>}:order:<oid>:returned      hash    sku -> quantity already in returns (portal)    none
<p>{<mid>}:orderlookup:<oid>         string  an order the lookup webhook answered (cache)   30 min
<p>{<mid>}:orderlookup:<oid>:miss:<h> string  the webhook said 404 for order + contact hash  60 s
<p>{<mid>}:lookup:endpoint           string  the order-lookup webhook: URL, signing secret  none
<p>page:miss:<ip>:<min>             string  unknown tracking tokens looked up this minute   120 s
<p>{<mid>}:page:form:<nonce>         string  a tracking page form already used (its answer)  its life
<p>{<mid>}:page:clicks               hash    recommendation id -> clicks on the page        none
<p>{<mid>}:portal:s:<sid>            string  portal session JSON (order found, verified)    30 min
<p>{<mid>}:portal:miss:<ip>:<min>    string  failed order identifications this minute       120 s
<p>{<mid>}:portal:form:<nonce>       string  a portal form token already used               its life
<p>{<mid>}:return:<rid>:photos       hash    photo id -> re-encoded image bytes             none
<p>{<mid>}:portal:code:<cid>         hash    one-time code challenge: HMAC of the code,      11 min
                                            order, channel, tries, resends, sent/expiry     (renewed)
<p>{<mid>}:portal:codes:<oid>:<hr>   string  codes sent for one order in one hour            2 h
<p>portal:confirm:due                zset    "<tracking token> <lang>" confirmations by      none
                                            next try (epoch s); a claim pushes it a lease on
<p>portal:confirm:tries              hash    confirmation member -> failed tries             none
<p>portal:confirm:dead               list    confirmations given up on, bounded              none
<p>{<mid>}:portal:confirmed:<rid>    set     channels that took the return's confirmation    7 days
<p>{<mid>}:an:<yyyy-mm-dd>:<dim>     hash    "<value>|<metric>" -> returns counters          none
<p>{<mid>}:an:r:<rid>                hash    analytics milestones already counted (guard)   none
<p>an:merchants                      set     merchants with analytics counters               none
<p>digest:due                        zset    merchant ids by when their next digest is due  none
<p>{<mid>}:digest:<yyyy-mm-dd>       string  digest claim: "sending <token>", then "sent"   lease_s, 8 d
<p>{cg:<carrier>}:circuit            hash    circuit state, opened_at, half-open probe       none
<p>{cg:<carrier>}:window             hash    "n:<bucket>"/"e:<bucket>" calls, failures       2 windows
<p>{cg:<carrier>}:rate               string  rate limit: theoretical arrival time (ms)       its slack
<p>{cg:<carrier>}:calls:<minute>     hash    calls, failures, latency buckets of a minute    stats_kept_s
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

    def return_owner(self, rid: str) -> str:
        return f"{self.prefix}return-owner:{rid}"

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

    def observe(self) -> str:
        return f"{self.prefix}observe"

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

    # The ops layer (gateway/ops/): NPRs, remediation, stuck shipments, alerts, console sessions.

    def npr(self, mid: str, rid: str) -> str:
        return f"{self.prefix}{{{mid}}}:npr:{rid}"

    def npr_open(self) -> str:
        return f"{self.prefix}ops:npr:open"

    def remediation_due(self) -> str:
        return f"{self.prefix}ops:remediate:due"

    def stuck_due(self) -> str:
        return f"{self.prefix}ops:stuck:due"

    def stuck_flagged(self) -> str:
        return f"{self.prefix}ops:stuck:flagged"

    def status_since(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:ops:since"

    def status_durations(self, carrier: str, status: str) -> str:
        return f"{self.prefix}ops:dur:{carrier}:{status}"

    def turnaround(self, carrier: str) -> str:
        return f"{self.prefix}ops:turnaround:{carrier}"

    def carrier_health(self, carrier: str) -> str:
        return f"{self.prefix}ops:health:{carrier}"

    def alert(self, aid: str) -> str:
        return f"{self.prefix}ops:alert:{aid}"

    def alerts(self) -> str:
        return f"{self.prefix}ops:alerts"

    def alerts_open(self) -> str:
        return f"{self.prefix}ops:alerts:open"

    def alerts_cooldown(self) -> str:
        return f"{self.prefix}ops:alerts:cooldown"

    def alerts_outbox(self) -> str:
        return f"{self.prefix}ops:alerts:outbox"

    def merchant_alerts(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:alerts"

    def ops_users(self) -> str:
        return f"{self.prefix}ops:users"

    def ops_session(self, sid: str) -> str:
        return f"{self.prefix}ops:session:{sid}"

    def ops_login_failures(self, ip: str, window: int) -> str:
        return f"{self.prefix}ops:login:fail:{ip}:{window}"

    # The returns portal and analytics (gateway/portal/, gateway/analytics/).

    def order_doc(self, mid: str, oid: str) -> str:
        return f"{self.prefix}{{{mid}}}:orderdoc:{oid}"

    def order_returned(self, mid: str, oid: str) -> str:
        return f"{self.prefix}{{{mid}}}:order:{oid}:returned"

    def order_lookup(self, mid: str, oid: str) -> str:
        return f"{self.prefix}{{{mid}}}:orderlookup:{oid}"

    def order_lookup_miss(self, mid: str, oid: str, contact_hash: str) -> str:
        # Order ids never hold ":", so this cannot collide with another order's cache key.
        return f"{self.prefix}{{{mid}}}:orderlookup:{oid}:miss:{contact_hash}"

    def order_lookup_endpoint(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:lookup:endpoint"

    def page_misses(self, ip: str, minute: int) -> str:
        return f"{self.prefix}page:miss:{ip}:{minute}"

    def page_form(self, mid: str, nonce: str) -> str:
        return f"{self.prefix}{{{mid}}}:page:form:{nonce}"

    def page_clicks(self, mid: str) -> str:
        return f"{self.prefix}{{{mid}}}:page:clicks"

    def portal_session(self, mid: str, sid: str) -> str:
        return f"{self.prefix}{{{mid}}}:portal:s:{sid}"

    def portal_misses(self, mid: str, ip: str, minute: int) -> str:
        return f"{self.prefix}{{{mid}}}:portal:miss:{ip}:{minute}"

    def portal_form(self, mid: str, nonce: str) -> str:
        return f"{self.prefix}{{{mid}}}:portal:form:{nonce}"

    def photos(self, mid: str, rid: str) -> str:
        return f"{self.prefix}{{{mid}}}:return:{rid}:photos"

    def portal_code(self, mid: str, cid: str) -> str:
        return f"{self.prefix}{{{mid}}}:portal:code:{cid}"

    def portal_code_sends(self, mid: str, oid: str, hour: int) -> str:
        return f"{self.prefix}{{{mid}}}:portal:codes:{oid}:{hour}"

    def portal_confirm_due(self) -> str:
        return f"{self.prefix}portal:confirm:due"

    def portal_confirm_tries(self) -> str:
        return f"{self.prefix}portal:confirm:tries"

    def portal_confirm_dead(self) -> str:
        return f"{self.prefix}portal:confirm:dead"

    def portal_confirmed(self, mid: str, rid: str) -> str:
        return f"{self.prefix}{{{mid}}}:portal:confirmed:{rid}"

    def analytics_day(self, mid: str, day: str, dimension: str) -> str:
        return f"{self.prefix}{{{mid}}}:an:{day}:{dimension}"

    def analytics_seen(self, mid: str, rid: str) -> str:
        return f"{self.prefix}{{{mid}}}:an:r:{rid}"

    def analytics_merchants(self) -> str:
        return f"{self.prefix}an:merchants"

    def digest_due(self) -> str:
        return f"{self.prefix}digest:due"

    def digest_claim(self, mid: str, day: str) -> str:
        return f"{self.prefix}{{{mid}}}:digest:{day}"

    # The carrier guard (gateway/carrier_guard.py): one hash tag per carrier, so one script touches them all.

    def circuit(self, carrier: str) -> str:
        return f"{self.prefix}{{cg:{carrier}}}:circuit"

    def circuit_window(self, carrier: str) -> str:
        return f"{self.prefix}{{cg:{carrier}}}:window"

    def rate_limit(self, carrier: str) -> str:
        return f"{self.prefix}{{cg:{carrier}}}:rate"

    def carrier_calls(self, carrier: str, minute: int) -> str:
        return f"{self.prefix}{{cg:{carrier}}}:calls:{minute}"
