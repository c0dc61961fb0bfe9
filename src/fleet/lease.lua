-- failguard: lease up to ARGV[3] permits of a GCRA limit whose theoretical arrival time is
-- KEYS[1], in microseconds of the server's clock (one clock for the whole fleet).
-- ARGV: [1] emission interval (us), [2] burst, [3] permits wanted.
-- Returns {granted, wait_us}: wait_us is when the next permit conforms, when none was granted.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
-- A permit conforms while the new TAT stays within burst intervals of now.
local room = math.floor((now + burst * interval - tat) / interval)
local granted = math.min(want, room)
if granted <= 0 then
  return {0, tat - (burst - 1) * interval - now}
end
tat = tat + granted * interval
-- The key outlives its TAT by a second, then an idle limit costs nothing.
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return {granted, 0}
