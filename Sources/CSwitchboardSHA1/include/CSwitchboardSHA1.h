#ifndef SWITCHBOARD_CSHA1_H
#define SWITCHBOARD_CSHA1_H
#include <stddef.h>
#include <stdint.h>

/* SHA-1's compression function on the CPU's SHA extensions (x86-64
   SHA-NI), for the WebSocket handshake's accept value: ~15 instructions a
   block-round group where the portable Swift rounds take ~90. Swift has no
   intrinsics for these instructions, hence C. */

/* Whether switchboard_sha1_compress_hardware may be called here: an x86-64
   CPU with SHA, SSSE3 and SSE4.1. 0 everywhere else. */
int switchboard_sha1_hardware_available(void);

/* Hashes `blocks` 64-byte blocks at `data` into `state` (h0...h4). Only
   where switchboard_sha1_hardware_available() returned 1. */
void switchboard_sha1_compress_hardware(uint32_t state[5], const uint8_t *data, size_t blocks);

#endif
