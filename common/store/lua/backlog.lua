-- The backlog index (common/store/backlog.h), prepended to every script that files or moves an
-- event, so that the index changes in the same atomic step as the record.
--
-- Under a subdistrict's prefix P = '{sd}:bl:' (its keys are named here from P: they all carry
-- the subdistrict's hash tag, so they share the script's slot):
--   P..'n'                        hash "<level>|<state>|<flagged>" -> open events
--   P..'y:<level>|<state>'        zset event id -> UTC ms its light turns yellow (events whose
--                                 clock runs)
--   P..'r:<level>|<state>|<flag>' zset event id -> UTC ms its light turns red
-- The record's field 'bl' holds the event's entry, "<state>|<level>|<flagged>|<yellow>|<red>"
-- (0: no clock runs), so that the next step knows what to take away; an event that is not open
-- has none.
local function backlog_step(prefix, record, id, entry)
  local s, l, f, y, r = string.match(entry, '^(%d+)|(%d+)|(%d)|(%d+)|(%d+)$')
  if entry ~= '' and not s then
    -- Refused before any write, so that the calling script writes nothing either (each caller
    -- calls this before its own writes).
    error('backlog entry is malformed: ' .. entry)
  end
  local was = redis.call('HGET', record, 'bl')
  if was == entry or (not was and entry == '') then
    return
  end
  if was then
    local ws, wl, wf, wy = string.match(was, '^(%d+)|(%d+)|(%d)|(%d+)|(%d+)$')
    if ws then
      local wls = wl .. '|' .. ws
      redis.call('HINCRBY', prefix .. 'n', wls .. '|' .. wf, -1)
      if wy ~= '0' then
        redis.call('ZREM', prefix .. 'y:' .. wls, id)
        redis.call('ZREM', prefix .. 'r:' .. wls .. '|' .. wf, id)
      end
    end
  end
  if entry == '' then
    redis.call('HDEL', record, 'bl')
    return
  end
  local ls = l .. '|' .. s
  redis.call('HINCRBY', prefix .. 'n', ls .. '|' .. f, 1)
  if y ~= '0' then
    redis.call('ZADD', prefix .. 'y:' .. ls, y, id)
    redis.call('ZADD', prefix .. 'r:' .. ls .. '|' .. f, r, id)
  end
  redis.call('HSET', record, 'bl', entry)
end

