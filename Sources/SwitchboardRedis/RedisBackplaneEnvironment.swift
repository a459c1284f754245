import Glibc

extension RedisBackplane {
    /// The backplane named by the environment variable `variable`
    /// (`REDIS_URL` by default), or `nil` when it is unset or empty, so a
    /// program runs alone unless it is told where Redis is.
    public static func fromEnvironment(
        _ variable: String = "REDIS_URL",
        configuration: RedisBackplaneConfiguration = RedisBackplaneConfiguration()
    ) throws(RedisURLError) -> RedisBackplane? {
        guard let value = getenv(variable), value.pointee != 0 else { return nil }
        return try RedisBackplane(url: String(cString: value), configuration: configuration)
    }
}
