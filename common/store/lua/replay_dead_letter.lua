-- Puts a dead letter's entry back on the stream it came from, as a new entry with the entry's
-- own fields, and removes the dead letter, all or nothing. Every consumer group of that stream
-- reads the new entry.
--
-- KEYS[1] dead-letter stream    {sd}:dead
-- KEYS[2] the stream it names   {sd}:routing, {sd}:live (same subdistrict)
-- ARGV[1] the dead letter's id
-- Returns the new entry's id; an error reply "NOTFOUND" when there is no such dead letter,
-- "MISMATCH" when it came from another stream than KEYS[2].
local letter = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if not letter[1] then
  return redis.error_reply('NOTFOUND dead letter ' .. ARGV[1])
end
local fields = letter[1][2]
local stream = nil
local entry = {}
for i = 1, #fields, 2 do
  local name = fields[i]
  if name == 'stream' then
    stream = fields[i + 1]
  elseif string.sub(name, 1, 2) == 'f:' then
    entry[#entry + 1] = string.sub(name, 3)
    entry[#entry + 1] = fields[i + 1]
  end
end
if stream ~= KEYS[2] then
  return redis.error_reply('MISMATCH dead letter ' .. ARGV[1] .. ' came from ' .. tostring(stream))
end
if #entry == 0 then
  -- The entry had been deleted before it was dead-lettered: nothing to put back.
  entry = {'replayed', ARGV[1]}
end
local id = redis.call('XADD', KEYS[2], '*', unpack(entry))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
