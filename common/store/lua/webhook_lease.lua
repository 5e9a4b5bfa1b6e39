-- Takes or extends the webhooks service's lease (services/webhooks/lease.h): one process at a
-- time hands the live streams over and delivers. A holder extends its own lease (compare and
-- extend); anyone takes a lease nobody holds (SET NX PX); nobody takes another's.
--
-- KEYS[1] the lease                    wh:lease (string: the holder's token)
-- ARGV[1] the caller's token           <host>-<pid>-<random>
-- ARGV[2] how long the lease lasts, ms
-- Returns 1 when the caller holds the lease for ARGV[2] ms from now, 0 when another holds it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
