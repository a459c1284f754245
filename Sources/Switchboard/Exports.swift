// What a user of Switchboard needs, from one import: the HTTP types of
// every Swift server, and the few types of the lower layers that appear in
// Switchboard's own API. Everything else below is `package`.
@_exported public import HTTPTypes
@_exported public import class SwitchboardIO.EventLoop
@_exported public import struct SwitchboardIO.SocketAddress
@_exported public import struct SwitchboardIO.ConnectionDistribution
@_exported public import struct SwitchboardIO.IOError
@_exported public import struct SwitchboardIO.ShutdownError
@_exported public import enum SwitchboardIO.System
@_exported public import struct SwitchboardWire.HTTPParserLimits
@_exported public import struct SwitchboardWire.WebSocketCloseCode
@_exported public import struct SwitchboardWire.WebSocketOpcode
