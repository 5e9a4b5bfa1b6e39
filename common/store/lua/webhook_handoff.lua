-- Hands one live-stream entry over to the delivery queues of the webhook receivers it matches and
-- acknowledges it in the webhooks consumer group, all or nothing: an entry is queued for its
-- receivers exactly once, and in the order of the live stream as long as entries are handed over
-- in that order (services/webhooks/handoff.h).
--
-- KEYS[1]             live stream           {sd}:live
-- KEYS[2]             the event record      {sd}:ev:<id> (hash: pb, state, version)
-- KEYS[3 .. 2+n]      receivers' queues     {sd}:wh:q:<receiver> (stream: c, e)
-- KEYS[3+n .. 2+2n]   their dead letters    {sd}:wh:dead:<receiver>
-- ARGV[1] consumer group
-- ARGV[2] live-stream entry id
-- ARGV[3] the serialized EventChange
-- ARGV[4] n, the number of receivers
-- ARGV[5] the most entries a queue holds; beyond, the change goes to the dead letters at once
-- ARGV[6] now, UTC ms
-- ARGV[7] the dead-letter streams' approximate maximum length
-- A queue entry: c = the change, e = the event record as it is now (right after the change, or
-- later when the change is handed over late), empty when the record is gone.
-- Returns {1, f1, ..., fn}, fi = 1 when receiver i's queue was full (the change went to its dead
-- letters) and 0 when it was queued; {0} when the entry was no longer pending (handed over).
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return {0}
end
local n = tonumber(ARGV[4])
local result = {1}
if n == 0 then
  return result
end
local event = redis.call('HGET', KEYS[2], 'pb')
if not event then
  event = ''
end
for i = 1, n do
  local queue = KEYS[2 + i]
  if redis.call('XLEN', queue) >= tonumber(ARGV[5]) then
    redis.call('XADD', KEYS[2 + n + i], 'MAXLEN', '~', ARGV[7], '*', 'c', ARGV[3], 'e', event,
               'reason', 'queue full', 'attempts', '0', 'at', ARGV[6])
    result[#result + 1] = 1
  else
    redis.call('XADD', queue, '*', 'c', ARGV[3], 'e', event)
    result[#result + 1] = 0
  end
end
return result
