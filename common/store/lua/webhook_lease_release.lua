-- Gives the webhooks service's lease up on a clean stop, so that a standby takes over at once
-- rather than when the lease would have run out (services/webhooks/lease.h). Only the holder's
-- token deletes it.
--
-- KEYS[1] the lease                    wh:lease
-- ARGV[1] the caller's token
-- Returns 1 when it was the caller's and is gone, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
