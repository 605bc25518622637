-- GCRA (the generic cell rate algorithm) in one atomic step.
--
-- KEYS[1]  the theoretical arrival time (TAT) of the next permit, in microseconds of the
--          server's clock; the key expires once the TAT is in the past, when it means nothing
-- ARGV[1]  the emission interval: one permit every ARGV[1] microseconds (an integer >= 1)
-- ARGV[2]  the burst: how many permits may be taken at once after a quiet spell (>= 1)
--
-- Returns 0 when a permit was taken, else the microseconds until one is due (>= 1); a
-- refusal changes nothing, so a caller that gives up has taken nothing.

-- Redis before 5 replicates scripts verbatim and refuses writes after TIME unless asked to
-- replicate effects; from 7 this is the only mode and the call a no-op.
if redis.replicate_commands then
    redis.replicate_commands()
end

local period = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])

-- The server's clock, so processes whose own clocks disagree still share one schedule.
-- Microseconds since the epoch stay below 2^53: exact in Lua's doubles.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
if tat < now then
    tat = now
end

-- Up to `burst` permits fit ahead of now: the TAT may run (burst - 1) periods early.
local wait = tat - (burst - 1) * period - now
if wait > 0 then
    return wait
end

tat = tat + period
-- '%.0f' keeps every digit (Lua's own conversion rounds to 14).
local ttl = math.ceil((tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', ttl))
return 0
