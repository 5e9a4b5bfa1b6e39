-- Deletes a consumer from a group if it holds no pending entries, in one step: between a check
-- and a delete another command could hand it an entry, which the delete would then drop from the
-- group's pending list unhandled. A consumer that is in fact alive is recreated by its next read.
--
-- KEYS[1] the stream
-- ARGV[1] consumer group
-- ARGV[2] consumer
-- Returns -1 when the consumer still holds entries (left as is), else what XGROUP DELCONSUMER
-- answers (0).
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then
  return -1
end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
