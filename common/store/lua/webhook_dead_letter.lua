-- Moves the head of a webhook receiver's queue to its dead letters, all or nothing: a change
-- that could not be delivered within the maximum age (services/webhooks/delivery.h).
--
-- KEYS[1] the receiver's queue          {sd}:wh:q:<receiver>
-- KEYS[2] the receiver's dead letters   {sd}:wh:dead:<receiver>
-- ARGV[1] the queue entry id
-- ARGV[2] reason, one line (the last attempt's failure)
-- ARGV[3] attempts made
-- ARGV[4] now, UTC ms
-- ARGV[5] the dead-letter stream's approximate maximum length
-- The dead letter's fields: c, e (as queued), reason, attempts, at.
-- Returns 1 when moved, 0 when the entry was no longer queued.
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if not entry[1] then
  return 0
end
local letter = {}
local fields = entry[1][2]
for i = 1, #fields, 2 do
  letter[#letter + 1] = fields[i]
  letter[#letter + 1] = fields[i + 1]
end
letter[#letter + 1] = 'reason'
letter[#letter + 1] = ARGV[2]
letter[#letter + 1] = 'attempts'
letter[#letter + 1] = ARGV[3]
letter[#letter + 1] = 'at'
letter[#letter + 1] = ARGV[4]
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', unpack(letter))
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
