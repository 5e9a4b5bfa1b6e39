-- Files a new event: its record, the first entry of its history, its place in the routing
-- stream, the live stream, the time index and the index of open events, all or nothing. A
-- repeated client request id files nothing and answers the event it filed first.
--
-- KEYS[1] event hash          {sd}:ev:<id>
-- KEYS[2] history list        {sd}:hist:<id>
-- KEYS[3] routing stream      {sd}:routing
-- KEYS[4] live stream         {sd}:live
-- KEYS[5] time index zset     {sd}:events
-- KEYS[6] request key         {sd}:req:<reporter>:<client request id> (unused when ARGV[7] == '')
-- KEYS[7] open index (geo)    {sd}:open:<grid>:<category> (unused when ARGV[8] == '')
-- ARGV[1] the event, serialized grid.v1.Event (version 1)
-- ARGV[2] the event's state number
-- ARGV[3] the REPORTED change, serialized grid.v1.EventChange
-- ARGV[4] the event id
-- ARGV[5] the live stream's approximate maximum length
-- ARGV[6] the event's creation time, UTC milliseconds
-- ARGV[7] how long the request key lives, seconds, or '' when the report has no request id
-- ARGV[8] longitude, or '' when the report has no location
-- ARGV[9] latitude
-- Returns {1, id} when filed, {0, first id} for a repeated request, {2, id} when the id exists.
if ARGV[7] ~= '' then
  local first = redis.call('GET', KEYS[6])
  if first then
    return {0, first}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2, ARGV[4]}
end
redis.call('HSET', KEYS[1], 'pb', ARGV[1], 'state', ARGV[2], 'version', 1)
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('XADD', KEYS[3], '*', 'id', ARGV[4])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[3])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[4])
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[6], ARGV[4], 'EX', ARGV[7])
end
if ARGV[8] ~= '' then
  redis.call('GEOADD', KEYS[7], ARGV[8], ARGV[9], ARGV[4])
end
return {1, ARGV[4]}
