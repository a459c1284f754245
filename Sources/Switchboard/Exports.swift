// What a user of Switchboard needs, from one import.
@_exported public import HTTPTypes
@_exported public import SwitchboardIO
@_exported public import struct SwitchboardWire.HTTPParserLimits
@_exported public import struct SwitchboardWire.WebSocketCloseCode
@_exported public import struct SwitchboardWire.WebSocketOpcode
