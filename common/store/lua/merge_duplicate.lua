-- Files a report as a duplicate of an open event: the new event (already VOIDED, duplicate_of
-- set) with its history, and the open event's new version (duplicate count + 1) with its change,
-- all or nothing, if the open event is still at the version the caller read. Nothing goes to the
-- routing stream: a duplicate is not dispatched again.
--
-- KEYS[1] new event hash       {sd}:ev:<new id>
-- KEYS[2] new history list     {sd}:hist:<new id>
-- KEYS[3] live stream          {sd}:live
-- KEYS[4] time index zset      {sd}:events
-- KEYS[5] request key          {sd}:req:<reporter>:<client request id> (unused when ARGV[7] == '')
-- KEYS[6] open event hash      {sd}:ev:<open id>
-- KEYS[7] open history list    {sd}:hist:<open id>
-- ARGV[1] the new event, serialized grid.v1.Event
-- ARGV[2] the new event's state number
-- ARGV[3] the new event's change, serialized grid.v1.EventChange
-- ARGV[4] the new event id
-- ARGV[5] the live stream's approximate maximum length
-- ARGV[6] the new event's creation time, UTC milliseconds
-- ARGV[7] how long the request key lives, seconds, or ''
-- ARGV[8] the open event's version the caller read
-- ARGV[9] the open event after the merge, serialized, with version ARGV[8] + 1
-- ARGV[10] the open event's state number
-- ARGV[11] the open event's DUPLICATE_MERGED change, serialized
-- Returns {1, new id} when merged, {0, first id} for a repeated request, {2, new id} when the
-- new id exists, {3, current version} when the open event moved on.
if ARGV[7] ~= '' then
  local first = redis.call('GET', KEYS[5])
  if first then
    return {0, first}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2, ARGV[4]}
end
local current = redis.call('HGET', KEYS[6], 'version')
if current ~= ARGV[8] then
  return {3, tonumber(current or '0')}
end
redis.call('HSET', KEYS[1], 'pb', ARGV[1], 'state', ARGV[2], 'version', 1)
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[3])
redis.call('HSET', KEYS[6], 'pb', ARGV[9], 'state', ARGV[10], 'version', tonumber(current) + 1)
redis.call('RPUSH', KEYS[7], ARGV[11])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[11])
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[5], ARGV[4], 'EX', ARGV[7])
end
return {1, ARGV[4]}
