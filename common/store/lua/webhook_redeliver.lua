-- Moves a webhook receiver's dead letters of one subdistrict back onto its queue, all or nothing
-- (services/webhooks/admin.h): each one moved is a new queue entry with its change and event
-- (c, e) and is gone from the dead letters in the same step, so a crash moves each either once or
-- not at all. The queue never grows beyond its maximum length.
--
-- KEYS[1] the receiver's dead letters   {sd}:wh:dead:<receiver> (stream: c, e, reason, ...)
-- KEYS[2] the receiver's queue          {sd}:wh:q:<receiver> (stream: c, e)
-- ARGV[1] the most dead letters to look at, oldest first (> 0)
-- ARGV[2] look after this dead-letter id (exclusive); "-" from the first
-- ARGV[3] the most entries the queue holds
-- Returns {moved, looked at, the last id looked at ("" if none), dead letters left, queue full}:
-- a dead letter without a change (c) is looked at and left; queue full is 1 when the queue's
-- room ran out before ARGV[1] were looked at.
local room = tonumber(ARGV[3]) - redis.call('XLEN', KEYS[2])
local want = tonumber(ARGV[1])
local full = 0
if room < want then
  want = room
  full = 1
end
local moved, looked, last = 0, 0, ''
if want > 0 then
  local from = '-'
  if ARGV[2] ~= '-' then
    from = '(' .. ARGV[2]
  end
  local entries = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', want)
  for _, entry in ipairs(entries) do
    local change, event = nil, ''
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'c' then
        change = fields[i + 1]
      elseif fields[i] == 'e' then
        event = fields[i + 1]
      end
    end
    if change then
      redis.call('XADD', KEYS[2], '*', 'c', change, 'e', event)
      redis.call('XDEL', KEYS[1], entry[1])
      moved = moved + 1
    end
    looked = looked + 1
    last = entry[1]
  end
end
return {moved, looked, last, redis.call('XLEN', KEYS[1]), full}
