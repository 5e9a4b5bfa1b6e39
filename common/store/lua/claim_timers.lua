-- Claims the escalation timers that are due: each is pushed a lease into the future, so another
-- escalator does not take it meanwhile, and comes due again if its claimant dies before handling
-- it. Handling an event moves its timer to its next deadline (or removes it) in the same step as
-- the move, so a claim never escalates twice: a second claimant finds the deadline moved on.
--
-- KEYS[1] escalation timers   {sd}:timers
-- ARGV[1] now, UTC ms
-- ARGV[2] the lease, ms
-- ARGV[3] at most this many
-- Returns {claimed, next}: claimed a flat list id, due, id, due, ...; next the earliest score
-- left after the claim (a timer not yet due, or one just leased), or false when none is left, so
-- that the escalator knows when to look at this subdistrict again.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[3])
local leased = tonumber(ARGV[1]) + tonumber(ARGV[2])
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], leased, due[i])
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {due, first[2] or false}
