-- Indexes one event filed before the backlog index existed, as the caller read it: only while
-- its record is still at the version read and no step has indexed it since (a step that came
-- first knew better), so this races with the steps safely.
--
-- KEYS[1] event hash      {sd}:ev:<id>
-- KEYS[2] backlog index   {sd}:bl: (a prefix)
-- ARGV[1] the event id
-- ARGV[2] the version read
-- ARGV[3] its backlog entry
-- Returns 1 when indexed, 0 when not (moved on, indexed already, or gone).
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[2] then
  return 0
end
if redis.call('HEXISTS', KEYS[1], 'bl') == 1 then
  return 0
end
backlog_step(KEYS[2], KEYS[1], ARGV[1], ARGV[3])
return 1
