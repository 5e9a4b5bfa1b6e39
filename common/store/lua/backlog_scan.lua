-- One step of indexing the events filed before the backlog index existed: scans part of the
-- subdistrict's time index (ZSCAN, which returns every event present for the whole scan) and
-- answers those whose record is open and has no backlog entry.
--
-- KEYS[1] time index zset  {sd}:events
-- KEYS[2] record prefix    {sd}:ev: (the records' keys are named from it: same slot)
-- ARGV[1] the ZSCAN cursor ('0' to start)
-- ARGV[2] the ZSCAN COUNT hint
-- ARGV[3] the final states' numbers, separated by spaces
-- Returns {next cursor ('0' when done), ids...}.
local final = {}
for s in string.gmatch(ARGV[3], '%S+') do
  final[s] = true
end
local scan = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local out = {scan[1]}
local members = scan[2]
for i = 1, #members, 2 do
  local id = members[i]
  local record = redis.call('HMGET', KEYS[2] .. id, 'state', 'bl')
  if record[1] and not record[2] and not final[record[1]] then
    out[#out + 1] = id
  end
end
return out
