/// Why a compressor could not be made or a message could not be inflated.
public enum DeflateError: Error, Sendable, Hashable {
    /// zlib refused the parameters (a window or level out of range).
    case invalidParameters
    /// The inflated message would be larger than the caller's limit: a
    /// decompression bomb, or just a message over the size limit.
    case tooLarge
    /// The bytes are not a valid deflate stream.
    case corrupt
}
