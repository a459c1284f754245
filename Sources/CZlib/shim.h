#ifndef SWITCHBOARD_CZLIB_SHIM_H
#define SWITCHBOARD_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2 and inflateInit2 are macros, which Swift cannot call; these
   wrappers pass zlib's version and stream size for them. A negative window
   size selects raw deflate: permessage-deflate carries no zlib header
   (RFC 7692 §7.2.1). */
static inline int switchboard_deflate_init(z_streamp stream, int level, int windowBits, int memoryLevel) {
    return deflateInit2(stream, level, Z_DEFLATED, -windowBits, memoryLevel, Z_DEFAULT_STRATEGY);
}

static inline int switchboard_inflate_init(z_streamp stream, int windowBits) {
    return inflateInit2(stream, -windowBits);
}
#endif
