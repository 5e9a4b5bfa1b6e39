-- Files a new event: its record, the first entry of its history, its place in the routing
-- stream, the live stream and the time index, all or nothing. Does nothing if the event exists.
--
-- KEYS[1] event hash          {sd}:ev:<id>
-- KEYS[2] history list        {sd}:hist:<id>
-- KEYS[3] routing stream      {sd}:routing
-- KEYS[4] live stream         {sd}:live
-- KEYS[5] time index zset     {sd}:events
-- ARGV[1] the event, serialized grid.v1.Event (version 1)
-- ARGV[2] the event's state number
-- ARGV[3] the REPORTED change, serialized grid.v1.EventChange
-- ARGV[4] the event id
-- ARGV[5] the live stream's approximate maximum length
-- ARGV[6] the event's creation time, UTC milliseconds
-- Returns 1 when filed, 0 when the event already existed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'pb', ARGV[1], 'state', ARGV[2], 'version', 1)
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('XADD', KEYS[3], '*', 'id', ARGV[4])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[3])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[4])
return 1
