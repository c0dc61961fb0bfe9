-- failguard: one instance's retry-budget counts, and the fleet's over the window in return.
-- KEYS[1]: the budget's hash. Fields: "s:<slice>:q" and "s:<slice>:r" (requests and retries
-- per slice of the store's clock), "seq:<id>" (the token of the instance's last report),
-- "beat:<id>" (its last report, us).
-- "grant:<id>" (the retries granted to the instance at its last report, not yet reported
-- spent).
-- ARGV: [1] instance id, [2] the report's token, [3] requests and [4] retries it reports,
--       [5] slice length (us), [6] slices in the window, [7] how long an instance without a
--       report counts as live (us), [8] credit per request, [9] the window's reserve and
--       [10] the cost of a retry, in the budget's units.
-- A report sent again after its answer was lost carries the same token and adds nothing.
-- Returns {grant, live}: the retries this instance may take until its next report. Every grant
-- is held against the balance until its instance reports again, so the grants never add up to
-- more than the fleet's balance.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slice_us = tonumber(ARGV[5])
local slices = tonumber(ARGV[6])
local epoch = math.floor(now / slice_us)
local id = ARGV[1]
if redis.call('HGET', KEYS[1], 'seq:' .. id) ~= ARGV[2] then
  local q, r = tonumber(ARGV[3]), tonumber(ARGV[4])
  if q > 0 then redis.call('HINCRBY', KEYS[1], 's:' .. epoch .. ':q', q) end
  if r > 0 then redis.call('HINCRBY', KEYS[1], 's:' .. epoch .. ':r', r) end
  redis.call('HSET', KEYS[1], 'seq:' .. id, ARGV[2])
end
redis.call('HSET', KEYS[1], 'beat:' .. id, now)
local ttl = tonumber(ARGV[7])
local requests, retries, live, granted = 0, 0, 0, 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local field, value = all[i], tonumber(all[i + 1])
  local s, kind = string.match(field, '^s:(%d+):(%a)$')
  if s then
    if tonumber(s) <= epoch - slices then
      redis.call('HDEL', KEYS[1], field)
    elseif kind == 'q' then
      requests = requests + value
    else
      retries = retries + value
    end
  else
    local beat_of = string.match(field, '^beat:(.+)$')
    if beat_of then
      if value + ttl < now then
        redis.call('HDEL', KEYS[1], field, 'seq:' .. beat_of, 'grant:' .. beat_of)
      else
        live = live + 1
        if beat_of ~= id then
          granted = granted + tonumber(redis.call('HGET', KEYS[1], 'grant:' .. beat_of) or '0')
        end
      end
    end
  end
end
local withdraw = tonumber(ARGV[10])
local credit = requests * tonumber(ARGV[8]) + tonumber(ARGV[9])
local free = math.floor((credit - retries * withdraw) / withdraw) - granted
local grant = 0
if free > 0 then grant = math.floor(free / live) end
if grant < 1 and free >= 1 then grant = 1 end
redis.call('HSET', KEYS[1], 'grant:' .. id, grant)
redis.call('PEXPIRE', KEYS[1], math.ceil(slice_us * slices / 1000) * 2)
return {grant, live}
