-- Counts one live-stream entry into the metrics rollups and acknowledges it in the metrics
-- consumer group, all or nothing. XACK answers 0 for an entry that is no longer pending (a
-- previous delivery, or another consumer that reclaimed it, counted it already): then nothing is
-- counted, so redelivery never counts twice.
--
-- KEYS[1] live stream          {sd}:live
-- KEYS[2] event metric state   {sd}:mx:ev:<id> (hash: created, dc dispatches, b breached,
--                                               due counted, def deferred)
-- KEYS[3] open events          {sd}:mx:open    (hash: event id -> state number)
-- KEYS[4] day rollup           {sd}:mx:day:<yyyymmdd> (hash: "<unit>|<cc>|<sev>|<counter>" -> n)
-- KEYS[5] days with rollups    {sd}:mx:days    (zset: yyyymmdd by day number)
-- ARGV[1] consumer group
-- ARGV[2] stream entry id
-- ARGV[3] the change kind number (grid.v1.ChangeKind)
-- ARGV[4] when it happened, UTC ms
-- ARGV[5] the event id
-- ARGV[6] the rollup field prefix "<unit>|<category class>|<severity>|"
-- ARGV[7] the state after the step, a number
-- ARGV[8] '1' when that state is final (closed, voided, cancelled)
-- ARGV[9] '1' when the step shows a breached limit (a step after its deadline, a timeout
--         escalation, a reminder)
-- ARGV[10] the day number (days since 1970-01-01 UTC)
-- ARGV[11] the day, yyyymmdd
-- ARGV[12] seconds the rollups and the event's state live
-- Returns {0} when the entry was counted before, else {1, first dispatch (0/1), closed on time
-- (0/1), dispatches so far, created at ms or 0}.
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return {0}
end
local kind = tonumber(ARGV[3])
local st = KEYS[2]
local day = KEYS[4]
local prefix = ARGV[6]
local function count(name)
  redis.call('HINCRBY', day, prefix .. name, 1)
end
-- Counts the event as fallen due once, at the first of: breach, suspension, closure.
local function fall_due()
  if redis.call('HSETNX', st, 'due', '1') == 1 then
    count('due')
  end
end

local first_dispatch = 0
local on_time = 0
if kind == 1 then -- REPORTED
  redis.call('HSETNX', st, 'created', ARGV[4])
  count('rep')
elseif kind == 16 then -- DUPLICATE_MERGED
  count('dup')
elseif kind == 2 or kind == 7 or kind == 15 then -- DISPATCHED, RETURNED, REASSIGNED
  if redis.call('HINCRBY', st, 'dc', 1) == 1 and kind == 2 then
    first_dispatch = 1
  end
  if kind == 7 then
    count('ret')
  end
elseif kind == 6 then -- REWORK
  count('rwk')
elseif kind == 8 then -- ESCALATED
  count('esc')
elseif kind == 13 then -- SUPERVISED
  count('sup')
elseif kind == 9 then -- SUSPENDED (deferred, 挂账)
  if redis.call('HSETNX', st, 'def', '1') == 1 then
    count('def')
  end
  fall_due()
end
if ARGV[9] == '1' then
  redis.call('HSET', st, 'b', '1')
  fall_due()
end
if kind == 5 then -- VERIFIED: closed
  count('clo')
  if tonumber(redis.call('HGET', st, 'dc') or '0') > 1 then
    count('rdp')
  end
  if redis.call('HEXISTS', st, 'b') == 0 and redis.call('HEXISTS', st, 'def') == 0 then
    on_time = 1
    count('ont')
  end
  fall_due()
end

if ARGV[8] == '1' then
  redis.call('HDEL', KEYS[3], ARGV[5])
else
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[7])
end
redis.call('EXPIRE', st, ARGV[12])
redis.call('EXPIRE', day, ARGV[12])
redis.call('ZADD', KEYS[5], ARGV[10], ARGV[11])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf',
           tostring(tonumber(ARGV[10]) - math.floor(tonumber(ARGV[12]) / 86400) - 1))
local dispatches = tonumber(redis.call('HGET', st, 'dc') or '0')
local created = tonumber(redis.call('HGET', st, 'created') or '0')
return {1, first_dispatch, on_time, dispatches, created}
