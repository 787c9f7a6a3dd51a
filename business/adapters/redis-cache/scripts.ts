// The Lua script of the Redis cache, loaded once per connection by ioredis
// (defineCommand: EVALSHA, falling back to EVAL after a restart or a SCRIPT FLUSH).
// Reads need no script: one MGET of the generation key and the domain keys is
// atomic, and the client compares each entry's generation.
//
// Layout: one string key per domain, `<prefix>d:<name>` = `<generation>:<delivered>:<bounced>`,
// and one key `<prefix>gen` holding the current generation (a random token, never
// reused, so that an evicted or lost generation key can never revive old entries).
// An entry whose generation is not the current one is a miss.
//
// KEYS[1] is the generation key, KEYS[2..] the domain keys. If the generation
// key is missing (a new or restarted Redis), the script adopts the candidate
// token the client passed.
//
// On a Redis Cluster (key-layout.ts) every call's keys share one hash tag: the
// generation key is that slot group's, and a merge is one call per group. The
// script is the same; a group's token is compared with what the caller observed,
// and a fresh candidate adopted by one group only makes merges that span it
// refused until the next invalidate() sets every group again. Never adopting
// the observed token keeps the old rule: a lost generation key cannot revive
// entries of a generation that was invalidated.

/**
 * ARGV: observed generation, ttl seconds, candidate, then delivered and bounced
 * for each domain key in order. Writes only if the current generation is the
 * observed one; then each entry becomes the larger of its counts and the new ones
 * (same generation) or the new ones (older generation or absent). Entries with a
 * bounce (not catch-all, a final status) never expire; the others get the TTL.
 * Returns { 1, generation } when written, { 0, generation } when not.
 */
export const MERGE_SCRIPT = `
local gen = redis.call('GET', KEYS[1])
if not gen then
  gen = ARGV[3]
  redis.call('SET', KEYS[1], gen)
end
if gen ~= ARGV[1] then
  return { 0, gen }
end
local ttl = ARGV[2]
local prefix = gen .. ':'
local plen = #prefix
for i = 2, #KEYS do
  local d = ARGV[2 * i]
  local b = ARGV[2 * i + 1]
  local v = redis.call('GET', KEYS[i])
  if v and string.sub(v, 1, plen) == prefix then
    local od, ob = string.match(string.sub(v, plen + 1), '^(%d+):(%d+)$')
    if od then
      if tonumber(od) > tonumber(d) then d = od end
      if tonumber(ob) > tonumber(b) then b = ob end
    end
  end
  local entry = prefix .. d .. ':' .. b
  if tonumber(b) >= 1 then
    redis.call('SET', KEYS[i], entry)
  else
    redis.call('SET', KEYS[i], entry, 'EX', ttl)
  end
end
return { 1, gen }
`;
