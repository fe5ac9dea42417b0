-- Append a batch of entries to one stream in one command (gateway/store/streams.py).
-- KEYS[1] the stream; ARGV[1] its approximate MAXLEN; ARGV[2] a JSON array of entries,
-- each a flat array of field, value, field, value...
-- Returns the new entry ids in order.
local entries = cjson.decode(ARGV[2])
local ids = {}
for i, fields in ipairs(entries) do
    ids[i] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
end
return ids
