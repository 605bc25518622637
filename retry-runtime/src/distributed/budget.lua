-- gRPC retry throttling (proposal A6): a token bucket that failures drain and successes
-- refill, in one atomic step.
--
-- KEYS[1]  the tokens, in thousandths of a token; no key is a full bucket
-- ARGV[1]  'failure' (take one token), 'success' (give back ARGV[4]) or 'peek'
-- ARGV[2]  the bucket's size, in thousandths
-- ARGV[3]  one token, in thousandths (1000)
-- ARGV[4]  what a success gives back, in thousandths
--
-- Returns the tokens left, in thousandths; the caller decides whether a retry may start.
-- The script reads no clock: A6's bucket refills on successes only, never with time.

local op = ARGV[1]
local max = tonumber(ARGV[2])
local stored = tonumber(redis.call('GET', KEYS[1]) or '')

-- A bucket shrunk by a new configuration holds no more than its new size.
local tokens = math.min(stored or max, max)

if op == 'failure' then
    tokens = math.max(tokens - tonumber(ARGV[3]), 0)
elseif op == 'success' then
    tokens = math.min(tokens + tonumber(ARGV[4]), max)
else
    return tokens
end

if tokens >= max then
    -- A full bucket is no key: a quiet fleet leaves nothing behind.
    if stored then
        redis.call('DEL', KEYS[1])
    end
else
    redis.call('SET', KEYS[1], string.format('%.0f', tokens))
end
return tokens
