-- Files a new event in one step: created (record, first history entry, routing stream, live
-- stream, time index, index of open events) or merged as a duplicate of an open event (the
-- duplicate's record, history, time index and live entry, and the open event's new version with
-- its DUPLICATE_MERGED change), all or nothing.
--
-- Idempotent on the event id: an id that exists files nothing, so the retry of an attempt that
-- died after reserving its client request id files the reserved event exactly once.
--
-- The duplicate decision (services/intake/duplicates.h, the one place the rule lives) is made by
-- the caller on what it read of the open events near the report. This step applies only if that
-- is still what Redis holds: the same search finds the same events, each at the version read.
-- Otherwise nothing is written and the caller decides again. So concurrent reports of one matter
-- file exactly as they would one after another, on any number of intake replicas.
--
-- KEYS[1] new event hash       {sd}:ev:<id>
-- KEYS[2] new history list     {sd}:hist:<id>
-- KEYS[3] routing stream       {sd}:routing (unused for a duplicate)
-- KEYS[4] live stream          {sd}:live
-- KEYS[5] time index zset      {sd}:events
-- KEYS[6] open index (geo)     {sd}:open:<grid>:<category>
-- KEYS[7] open event hash      {sd}:ev:<open id> (a duplicate's; else any key of the slot)
-- KEYS[8] open history list    {sd}:hist:<open id> (likewise)
-- KEYS[9] backlog index        {sd}:bl: (a prefix; backlog.lua)
-- KEYS[10..] the hashes of the open events the decision was made on, in ARGV's order
-- ARGV[1] the new event, serialized grid.v1.Event (version 1)
-- ARGV[2] the new event's state number
-- ARGV[3] its REPORTED change, serialized grid.v1.EventChange
-- ARGV[4] the new event id
-- ARGV[5] the live stream's approximate maximum length
-- ARGV[6] the new event's creation time, UTC milliseconds
-- ARGV[7] longitude, or '' when the report has no location
-- ARGV[8] latitude
-- ARGV[9] the radius of the search the decision was made on, metres, or '' when none was
-- ARGV[10] at most this many results of that search
-- ARGV[11] '1' to merge into the open event of KEYS[7], '0' to create
-- ARGV[12] the open event's version the merge was built on
-- ARGV[13] the open event after the merge, serialized, with version ARGV[12] + 1
-- ARGV[14] the open event's state number
-- ARGV[15] the open event's DUPLICATE_MERGED change, serialized
-- ARGV[16] the new event's backlog entry ('' for a duplicate, which is not open)
-- ARGV[17] the open event's id (a duplicate's; else '')
-- ARGV[18] the open event's backlog entry after the merge
-- ARGV[19..] per event the decision was made on: its id, then its version as read ('' when its
--            record was gone)
-- Returns {1, id} when filed, {2, id} when the id exists, {3, ''} when the decision is stale.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2, ARGV[4]}
end
if ARGV[9] ~= '' then
  local near = redis.call('GEOSEARCH', KEYS[6], 'FROMLONLAT', ARGV[7], ARGV[8], 'BYRADIUS',
                          ARGV[9], 'm', 'ASC', 'COUNT', ARGV[10])
  local seen = (#ARGV - 18) / 2
  if #near ~= seen then
    return {3, ''}
  end
  local found = {}
  for _, id in ipairs(near) do
    found[id] = true
  end
  for i = 1, seen do
    if not found[ARGV[17 + 2 * i]] then
      return {3, ''}
    end
    local version = redis.call('HGET', KEYS[9 + i], 'version') or ''
    if version ~= ARGV[18 + 2 * i] then
      return {3, ''}
    end
  end
end
if ARGV[11] == '1' then
  local current = redis.call('HGET', KEYS[7], 'version')
  if current ~= ARGV[12] then
    return {3, ''}
  end
  backlog_step(KEYS[9], KEYS[7], ARGV[17], ARGV[18])
  redis.call('HSET', KEYS[1], 'pb', ARGV[1], 'state', ARGV[2], 'version', 1)
  redis.call('RPUSH', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[5], ARGV[6], ARGV[4])
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[3])
  redis.call('HSET', KEYS[7], 'pb', ARGV[13], 'state', ARGV[14], 'version', tonumber(current) + 1)
  redis.call('RPUSH', KEYS[8], ARGV[15])
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[15])
  return {1, ARGV[4]}
end
backlog_step(KEYS[9], KEYS[1], ARGV[4], ARGV[16])
redis.call('HSET', KEYS[1], 'pb', ARGV[1], 'state', ARGV[2], 'version', 1)
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('XADD', KEYS[3], '*', 'id', ARGV[4])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[3])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[4])
if ARGV[7] ~= '' then
  redis.call('GEOADD', KEYS[6], ARGV[7], ARGV[8], ARGV[4])
end
return {1, ARGV[4]}
