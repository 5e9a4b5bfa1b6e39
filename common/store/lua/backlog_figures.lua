-- A subdistrict's backlog figures at one instant, read from the backlog index (backlog.lua): a
-- fixed number of commands per level and state, whatever the number of open events.
--
-- KEYS[1] backlog index   {sd}:bl: (a prefix)
-- ARGV[1] now, UTC ms
-- Returns {built, then per level and state: level, state, open, running, yellow or red, red,
-- overdue}: built is 1 once the events filed before the index existed are in it; running counts
-- the events whose clock runs (the others have no light); overdue counts those flagged overdue
-- or past their deadline.
local prefix = KEYS[1]
local now = ARGV[1]
local out = {redis.call('EXISTS', prefix .. 'built')}
local counts = redis.call('HGETALL', prefix .. 'n')
local rows = {}
local order = {}
for i = 1, #counts, 2 do
  local l, s, f = string.match(counts[i], '^(%d+)|(%d+)|(%d)$')
  if l then
    local ls = l .. '|' .. s
    local row = rows[ls]
    if not row then
      row = {l = l, s = s, open = 0, overdue = 0}
      rows[ls] = row
      order[#order + 1] = ls
    end
    local n = tonumber(counts[i + 1])
    row.open = row.open + n
    if f == '1' then
      row.overdue = row.overdue + n
    end
  end
end
for _, ls in ipairs(order) do
  local row = rows[ls]
  local y = prefix .. 'y:' .. ls
  local red_flagged = redis.call('ZCOUNT', prefix .. 'r:' .. ls .. '|1', '-inf', now)
  local red_unflagged = redis.call('ZCOUNT', prefix .. 'r:' .. ls .. '|0', '-inf', now)
  out[#out + 1] = tonumber(row.l)
  out[#out + 1] = tonumber(row.s)
  out[#out + 1] = row.open
  out[#out + 1] = redis.call('ZCARD', y)
  out[#out + 1] = redis.call('ZCOUNT', y, '-inf', now)
  out[#out + 1] = red_flagged + red_unflagged
  out[#out + 1] = row.overdue + red_unflagged
end
return out
