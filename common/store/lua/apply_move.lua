-- Applies one lifecycle move if the event is still at the version the caller read: replaces the
-- record, appends the change to the history and the live stream, moves the event between unit
-- queues, and acknowledges the stream entry that caused the move, all or nothing. The caller
-- checked the move against the state machine on that version, so the version check makes the
-- check and the write one atomic step.
--
-- KEYS[1] event hash          {sd}:ev:<id>
-- KEYS[2] history list        {sd}:hist:<id>
-- KEYS[3] live stream         {sd}:live
-- KEYS[4] queue to leave      {sd}:queue:<unit> (ignored unless ARGV[7] == '1')
-- KEYS[5] queue to join       {sd}:queue:<unit> (ignored unless ARGV[8] == '1')
-- KEYS[6] stream to ack on    {sd}:routing      (ignored when ARGV[10] == '')
-- KEYS[7] open index (geo)    {sd}:open:<grid>:<category> (ignored unless ARGV[12] == '1')
-- KEYS[8] return counts hash  {sd}:returns      (ignored when ARGV[13] == '')
-- KEYS[9] escalation timers   {sd}:timers
-- KEYS[10] overdue events     {sd}:overdue (zset: id by the deadline that passed)
-- KEYS[11] backlog index       {sd}:bl: (a prefix; backlog.lua)
-- ARGV[1] the version the caller read
-- ARGV[2] the new event, serialized grid.v1.Event, with version ARGV[1] + 1
-- ARGV[3] the new state number
-- ARGV[4] the change, serialized grid.v1.EventChange
-- ARGV[5] the live stream's approximate maximum length
-- ARGV[6] the event id
-- ARGV[7] '1' to leave the queue KEYS[4]
-- ARGV[8] '1' to join the queue KEYS[5]
-- ARGV[9] the score in the joined queue (urgency: due time, UTC milliseconds)
-- ARGV[10] consumer group to acknowledge ARGV[11] in, or ''
-- ARGV[11] stream entry id to acknowledge
-- ARGV[12] '1' when the event leaves the open index (a final state)
-- ARGV[13] the unit whose return count rises, or ''
-- ARGV[14] when the event's timer is due next, UTC ms, or '' when no clock runs (the timer goes)
-- ARGV[15] the deadline the event is overdue against, UTC ms, or '' when it is not overdue
-- ARGV[16] the event's backlog entry after the move, '' when it is no longer open
-- Returns {1, new version} when applied, {0, current version} when the version moved on, and an
-- error reply "NOTFOUND" when there is no such event.
local current = redis.call('HGET', KEYS[1], 'version')
if not current then
  return redis.error_reply('NOTFOUND event')
end
if current ~= ARGV[1] then
  return {0, tonumber(current)}
end
local version = tonumber(current) + 1
backlog_step(KEYS[11], KEYS[1], ARGV[6], ARGV[16])
redis.call('HSET', KEYS[1], 'pb', ARGV[2], 'state', ARGV[3], 'version', version)
redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[4])
if ARGV[7] == '1' then
  redis.call('ZREM', KEYS[4], ARGV[6])
end
if ARGV[8] == '1' then
  redis.call('ZADD', KEYS[5], ARGV[9], ARGV[6])
end
if ARGV[10] ~= '' then
  redis.call('XACK', KEYS[6], ARGV[10], ARGV[11])
end
if ARGV[12] == '1' then
  redis.call('ZREM', KEYS[7], ARGV[6])
end
if ARGV[13] ~= '' then
  redis.call('HINCRBY', KEYS[8], ARGV[13], 1)
end
if ARGV[14] == '' then
  redis.call('ZREM', KEYS[9], ARGV[6])
else
  redis.call('ZADD', KEYS[9], ARGV[14], ARGV[6])
end
if ARGV[15] == '' then
  redis.call('ZREM', KEYS[10], ARGV[6])
else
  redis.call('ZADD', KEYS[10], ARGV[15], ARGV[6])
end
return {1, version}
