-- failguard: one instance's breaker report, and the fleet's view in return.
-- KEYS[1]: the breaker's hash (field: instance id, value: "open_until_us heartbeat_us").
-- ARGV: [1] instance id, [2] 1 if its breaker is open, [3] microseconds it stays open,
--       [4] how long a report lives without a heartbeat (us), [5] the quorum's count (0: use
--       [6]; -1: a majority), [6] the quorum's fraction of live instances in millionths,
--       [7] the least count.
-- Returns {live, open, wait_us}: wait_us > 0 when at least the quorum reports open, the time
-- until fewer than the quorum will (from the reports' own open times).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_us = 0
if tonumber(ARGV[2]) == 1 then until_us = now + tonumber(ARGV[3]) end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d %d', until_us, now))
local ttl = tonumber(ARGV[4])
local live = 0
local opens = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local u, beat = string.match(all[i + 1], '(%d+) (%d+)')
  u = tonumber(u)
  beat = tonumber(beat)
  if beat + ttl < now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    live = live + 1
    if u > now then table.insert(opens, u) end
  end
end
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000) * 2)
local need = tonumber(ARGV[5])
if need == 0 then need = math.ceil(live * tonumber(ARGV[6]) / 1000000) end
if need == -1 then need = math.floor(live / 2) + 1 end
need = math.max(need, tonumber(ARGV[7]))
local open = #opens
if open < need then return {live, open, 0} end
table.sort(opens)
-- The quorum holds until the (open - need + 1)-th earliest report closes.
return {live, open, opens[open - need + 1] - now}
