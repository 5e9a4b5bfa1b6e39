-- Removes a closed (or voided, cancelled) event from the hot keys once its retention has passed:
-- its record, its history and its place in the time index, all or nothing, and only if it is
-- still at the version the caller read (so nothing that moved since is removed).
--
-- KEYS[1] event hash          {sd}:ev:<id>
-- KEYS[2] history list        {sd}:hist:<id>
-- KEYS[3] time index zset     {sd}:events
-- ARGV[1] the event id
-- ARGV[2] the version the caller read
-- Returns 1 when removed, 0 when the event moved on, 2 when its record was gone already (the
-- index entry and any history left are removed).
local version = redis.call('HGET', KEYS[1], 'version')
if not version then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 2
end
if version ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
