import SwitchboardWire

/// The two Lua scripts behind `RedisBackplane`'s history. Each runs
/// atomically in Redis, so one script both numbers a message and
/// publishes it: every node sees one order.
///
/// Per topic `t` (prefix `p`), two keys in one Redis Cluster slot (the
/// hash tag `{t}`):
/// - `p` + `history:{t}`, a hash: `epoch` (16 hex digits, chosen by the
///   node that creates it) and `top` (the last offset). It expires
///   `positionRetention` after the last publish.
/// - `p` + `stream:{t}`, a stream capped at `maxMessages` entries with IDs
///   `offset-0` and fields `t` (publish time, ms) and `d` (the JSON). It
///   expires `retention` after the last publish; older entries are skipped
///   when read.
///
/// A kept message goes out on the topic's channel as byte 2, the epoch,
/// `:`, the offset in decimal, `:`, the JSON (see `BackplaneEnvelope`).
enum RedisHistoryScripts {
    /// Both scripts, loaded (`SCRIPT LOAD`) first on every publishing
    /// connection, then run by digest (`EVALSHA`): each publish then sends
    /// 40 hex digits where the script's text was ~900 bytes.
    static let all = [publish, read]

    /// The hex SHA-1 Redis names `script` by.
    static func digest(_ script: String) -> [UInt8] {
        Array(SHA1.hash(script.utf8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined().utf8)
    }

    /// The most messages a stream keeps over Redis: a read answers with 2
    /// elements per message, in one array `ReplyGuard` bounds. A larger
    /// `HistoryPolicy.maxMessages` keeps this many.
    static let maxMessages = 1_000_000

    static let digests = all.map(digest)
    static let publishDigest = digests[0]
    static let readDigest = digests[1]

    /// KEYS: position, stream. ARGV: json, maxMessages, retention ms,
    /// positionRetention ms, channel, a fresh epoch. Returns {epoch, offset}.
    static let publish = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then
          epoch = ARGV[6]
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
        end
        local offset = redis.call('HINCRBY', KEYS[1], 'top', 1)
        local time = redis.call('TIME')
        local now = string.format('%d', tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
        redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], offset .. '-0', 't', now, 'd', ARGV[1])
        redis.call('PEXPIRE', KEYS[2], ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('PUBLISH', ARGV[5], '\\2' .. epoch .. ':' .. offset .. ':' .. ARGV[1])
        return {epoch, offset}
        """

    /// KEYS: position, stream. ARGV: after ('' for everything kept),
    /// maxMessages, retention ms, positionRetention ms, a fresh epoch.
    /// Returns {epoch, top, offset, json, offset, json, ...}.
    static let read = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then
          epoch = ARGV[5]
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
          redis.call('PEXPIRE', KEYS[1], ARGV[4])
        end
        local top = redis.call('HGET', KEYS[1], 'top')
        local first = '-'
        if ARGV[1] ~= '' then first = '(' .. ARGV[1] .. '-0' end
        local entries = redis.call('XRANGE', KEYS[2], first, '+', 'COUNT', ARGV[2])
        local time = redis.call('TIME')
        local oldest = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) - tonumber(ARGV[3])
        local out = {epoch, top}
        for _, entry in ipairs(entries) do
          local fields = entry[2]
          if tonumber(fields[2]) >= oldest then
            out[#out + 1] = string.match(entry[1], '^%d+')
            out[#out + 1] = fields[4]
          end
        end
        return out
        """
}
