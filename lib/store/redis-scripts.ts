/**
 * Lua run inside Redis wherever two writes must land together or a read would take many
 * round trips. Every script takes the key prefix as ARGV[1] and builds its key names
 * itself, so the layout lives in redis.ts's header and here only. That is fine on a
 * standalone or Sentinel-managed Redis, not on Redis Cluster (keys span slots).
 *
 * Nullable values travel as '' (null) or '=' followed by the value, so that an empty
 * string stays distinguishable from null.
 */

/**
 * Puts an ended, answered call into its account's spend set (member "cost|endedAt|id",
 * scored by answeredAt), replacing any earlier entry of the same call, and drops entries
 * older than the retention. A live call is in the live set instead.
 */
const SETTLE = `
local function settle(p, id, key, retain)
  local h = redis.call('HMGET', key, 'account', 'answeredAt', 'endedAt', 'cost', 'spendAccount', 'spendMember')
  local account, answered, ended, cost, oldAccount, oldMember = h[1], h[2], h[3], h[4], h[5], h[6]
  if oldMember then
    redis.call('ZREM', p .. 'spend:' .. oldAccount, oldMember)
    redis.call('HDEL', key, 'spendAccount', 'spendMember')
  end
  if not ended then
    redis.call('SADD', p .. 'live', id)
    redis.call('PERSIST', key)
    return
  end
  redis.call('SREM', p .. 'live', id)
  if answered then
    local member = cost .. '|' .. ended .. '|' .. id
    local zkey = p .. 'spend:' .. account
    redis.call('ZADD', zkey, answered, member)
    redis.call('ZREMRANGEBYSCORE', zkey, '-inf', '(' .. string.format('%.17g', tonumber(ended) - retain))
    redis.call('SADD', p .. 'spenders', account)
    redis.call('HSET', key, 'spendAccount', account, 'spendMember', member)
  end
  redis.call('PEXPIRE', key, retain)
end
local function opt(v)
  if v == '' then return nil end
  return string.sub(v, 2)
end
`;

/** ARGV: prefix, id, retainMs, account, destination?, startedAt, answeredAt?, endedAt?, cost, rate? */
export const SAVE_CALL = `${SETTLE}
local p, id, retain = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key = p .. 'call:' .. id
local ended = opt(ARGV[8])
-- An ended call stays ended: a re-rate still in flight must not undo endCall.
if not ended and redis.call('HEXISTS', key, 'endedAt') == 1 then return 0 end
local fields = { 'account', ARGV[4], 'startedAt', ARGV[6], 'cost', ARGV[9] }
local gone = {}
local function put(name, v)
  if v then fields[#fields + 1] = name; fields[#fields + 1] = v else gone[#gone + 1] = name end
end
put('destination', opt(ARGV[5]))
put('answeredAt', opt(ARGV[7]))
put('endedAt', ended)
put('rate', opt(ARGV[10]))
redis.call('HSET', key, unpack(fields))
if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
settle(p, id, key, retain)
local started = tonumber(ARGV[6])
redis.call('ZADD', p .. 'accounts', started, ARGV[4])
redis.call('ZREMRANGEBYSCORE', p .. 'accounts', '-inf', '(' .. string.format('%.17g', started - retain))
return 1
`;

/** ARGV: prefix, id, retainMs, endedAt, cost. Returns 0 for a call never saved. */
export const END_CALL = `${SETTLE}
local p, id, retain = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key = p .. 'call:' .. id
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'endedAt', ARGV[4], 'cost', ARGV[5])
settle(p, id, key, retain)
return 1
`;

/** ARGV: prefix. Returns { id, HGETALL } per live call. */
export const LIVE_CALLS = `
local p = ARGV[1]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', p .. 'live')) do
  out[#out + 1] = { id, redis.call('HGETALL', p .. 'call:' .. id) }
end
return out
`;

/**
 * ARGV: prefix, since. Returns account, sum, account, sum... Sums travel as strings with
 * 17 significant digits: a Lua number returned as such would be truncated to an integer.
 */
export const SPEND_SINCE = `
local p, since = ARGV[1], ARGV[2]
local out = {}
for _, account in ipairs(redis.call('SMEMBERS', p .. 'spenders')) do
  local zkey = p .. 'spend:' .. account
  local reset = redis.call('HGET', p .. 'resets', account)
  reset = reset and tonumber(reset)
  local sum, n = 0, 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', zkey, since, '+inf')) do
    local cost, ended = string.match(m, '^([^|]*)|([^|]*)|')
    if not reset or tonumber(ended) > reset then
      sum = sum + tonumber(cost)
      n = n + 1
    end
  end
  if n > 0 then
    out[#out + 1] = account
    out[#out + 1] = string.format('%.17g', sum)
  elseif redis.call('EXISTS', zkey) == 0 then
    redis.call('SREM', p .. 'spenders', account)
  end
end
return out
`;

/** ARGV: prefix, account, at. A reset only moves forward. */
export const RESET_ACCOUNT = `
local key = ARGV[1] .. 'resets'
local cur = redis.call('HGET', key, ARGV[2])
if not cur or tonumber(cur) < tonumber(ARGV[3]) then redis.call('HSET', key, ARGV[2], ARGV[3]) end
return 1
`;

/** ARGV: prefix, address. Keeps the hash (and its count) for escalation. */
export const LIFT_BAN = `
local key = ARGV[1] .. 'ban:' .. ARGV[2]
redis.call('ZREM', ARGV[1] .. 'bans', ARGV[2])
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'lifted', '1')
return 1
`;

/** ARGV: prefix, now. Drops expired entries from the active set; returns { address, HGETALL }. */
export const ACTIVE_BANS = `
local p, now = ARGV[1], ARGV[2]
local z = p .. 'bans'
redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
local out = {}
for _, a in ipairs(redis.call('ZRANGEBYSCORE', z, '(' .. now, '+inf')) do
  out[#out + 1] = { a, redis.call('HGETALL', p .. 'ban:' .. a) }
end
return out
`;

/** ARGV: prefix, at, JSON record, retainMs. A sequence number orders records of the same instant. */
export const AUDIT = `
local p, at = ARGV[1], ARGV[2]
local seq = redis.call('INCR', p .. 'audit:seq')
redis.call('ZADD', p .. 'audit', at, string.format('%016d', seq) .. '|' .. ARGV[3])
redis.call('ZREMRANGEBYSCORE', p .. 'audit', '-inf', '(' .. string.format('%.17g', tonumber(at) - tonumber(ARGV[4])))
return seq
`;
