-- Moves one pending stream entry to its subdistrict's dead-letter stream and acknowledges it in
-- the consumer group, all or nothing. An entry that is no longer pending in the group (another
-- consumer handled or dead-lettered it meanwhile) is left alone, so that an entry becomes one
-- dead letter at most.
--
-- KEYS[1] the stream            {sd}:routing, {sd}:live
-- KEYS[2] dead-letter stream    {sd}:dead
-- ARGV[1] consumer group
-- ARGV[2] entry id
-- ARGV[3] reason class: 'permanent' (the handler said so) or 'exhausted' (delivered too often)
-- ARGV[4] reason, one line
-- ARGV[5] the consumer that gives up on it
-- ARGV[6] now, UTC ms
-- ARGV[7] the dead-letter stream's approximate maximum length
-- The dead letter's fields: stream, group, entry, class, reason, consumer, deliveries, at, then
-- the entry's own fields with their names prefixed by "f:" (none when it was deleted).
-- Returns 1 when moved, 0 when the entry was not pending.
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 then
  return 0
end
local letter = {'stream', KEYS[1], 'group', ARGV[1], 'entry', ARGV[2], 'class', ARGV[3],
                'reason', ARGV[4], 'consumer', ARGV[5], 'deliveries', tostring(pending[1][4]),
                'at', ARGV[6]}
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if entry[1] then
  local fields = entry[1][2]
  for i = 1, #fields, 2 do
    letter[#letter + 1] = 'f:' .. fields[i]
    letter[#letter + 1] = fields[i + 1]
  end
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', unpack(letter))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
