-- Counts one change of an event into the metrics rollups, once per event version, and
-- acknowledges its live-stream entry in the metrics consumer group, all or nothing.
--
-- Entries arrive in any order (a batch is handled concurrently, a dead consumer's entries are
-- reclaimed later) and more than once (at-least-once delivery), so nothing here depends on what
-- was counted before: the caller derived every order-dependent fact (first dispatch, first
-- suspension, on-time closure...) from the event's history up to this version, which is final
-- once the version exists. This script only makes the counting idempotent per version and lets
-- the highest version decide the event's place in the open backlog.
--
-- KEYS[1] live stream          {sd}:live
-- KEYS[2] event bookkeeping    {sd}:mx2:ev:<id> (hash: last, fin, <version> -> 'l' or 'r')
-- KEYS[3] open events          {sd}:mx2:open    (hash: event id -> state number)
-- KEYS[4] day rollup           {sd}:mx2:day:<yyyymmdd> (hash: "<unit>|<cc>|<sev>|<counter>" -> n)
-- KEYS[5] days with rollups    {sd}:mx2:days    (zset: yyyymmdd by day number)
-- ARGV[1] consumer group
-- ARGV[2] live-stream entry id, or '' when re-deriving from the event's history (nothing to ack)
-- ARGV[3] the event id
-- ARGV[4] the change's version
-- ARGV[5] the rollup field prefix "<unit>|<category class>|<severity>|"
-- ARGV[6] the counters to add to, separated by spaces (may be empty): "<counter>" adds one,
--         "<counter>=<n>" adds the integer n (a sum of milliseconds)
-- ARGV[7] the state after the step, a number
-- ARGV[8] '1' when that state is final (closed, voided, cancelled)
-- ARGV[9] the local day number of the change
-- ARGV[10] the local day, yyyymmdd
-- ARGV[11] seconds the rollups live
-- ARGV[12] seconds an open event's bookkeeping lives
-- ARGV[13] seconds a closed event's bookkeeping lives
-- Returns {counted, observe}: counted is 1 when this call added the version to the rollups;
-- observe is 1 when this is the first live delivery of the version (for the Prometheus figures,
-- which count live changes: a version counted by the re-derivation is observed when its entry
-- arrives, and never again).
local live = ARGV[2] ~= ''
if live and redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  -- No longer pending: a previous delivery, or another consumer, handled it.
  return {0, 0}
end
local st = KEYS[2]
local version = ARGV[4]
local seen = redis.call('HGET', st, version)
if seen then
  if live and seen == 'r' then
    redis.call('HSET', st, version, 'l')
    return {0, 1}
  end
  return {0, 0}
end
redis.call('HSET', st, version, live and 'l' or 'r')

local counted = false
for token in string.gmatch(ARGV[6], '%S+') do
  local name, amount = string.match(token, '^([^=]+)=(-?%d+)$')
  if not name then
    name, amount = token, '1'
  end
  redis.call('HINCRBY', KEYS[4], ARGV[5] .. name, amount)
  counted = true
end
if counted then
  redis.call('EXPIRE', KEYS[4], ARGV[11])
  redis.call('ZADD', KEYS[5], ARGV[9], ARGV[10])
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf',
             tostring(tonumber(ARGV[9]) - math.floor(tonumber(ARGV[11]) / 86400) - 1))
end

-- The highest version applied says whether the event is open: an older step delivered late
-- never puts a closed event back into the backlog.
if ARGV[8] == '1' then
  redis.call('HSET', st, 'fin', '1')
end
if tonumber(version) > tonumber(redis.call('HGET', st, 'last') or '0') then
  redis.call('HSET', st, 'last', version)
  if ARGV[8] == '1' then
    redis.call('HDEL', KEYS[3], ARGV[3])
  else
    redis.call('HSET', KEYS[3], ARGV[3], ARGV[7])
  end
end
if redis.call('HEXISTS', st, 'fin') == 1 then
  redis.call('EXPIRE', st, ARGV[13])
else
  redis.call('EXPIRE', st, ARGV[12])
end
return {1, live and 1 or 0}
