-- Puts an event's escalation timer back at its next due time after the escalator found nothing
-- to do, unless a move changed the event since it was read (that move set the timer itself).
--
-- KEYS[1] event hash          {sd}:ev:<id>
-- KEYS[2] escalation timers   {sd}:timers
-- ARGV[1] the event's version as read
-- ARGV[2] the next due time, UTC ms, or '' when no clock runs
-- ARGV[3] the event id
-- Returns 1 when re-armed, 0 when the event moved on (or is gone: its timer goes).
local version = redis.call('HGET', KEYS[1], 'version')
if not version then
  redis.call('ZREM', KEYS[2], ARGV[3])
  return 0
end
if version ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[2], ARGV[3])
else
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
return 1
