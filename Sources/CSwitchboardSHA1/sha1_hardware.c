#include "CSwitchboardSHA1.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int switchboard_sha1_hardware_available(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const int ssse3 = (ecx >> 9) & 1, sse41 = (ecx >> 19) & 1;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    const int sha = (ebx >> 29) & 1;
    return ssse3 && sse41 && sha;
}

/* Four rounds with the function of rounds 20k...20k+19; the function
   number must be an immediate. */
__attribute__((target("sha,ssse3,sse4.1"), always_inline))
static inline __m128i four_rounds(__m128i abcd, __m128i e, int group) {
    switch (group / 5) {
    case 0: return _mm_sha1rnds4_epu32(abcd, e, 0);
    case 1: return _mm_sha1rnds4_epu32(abcd, e, 1);
    case 2: return _mm_sha1rnds4_epu32(abcd, e, 2);
    default: return _mm_sha1rnds4_epu32(abcd, e, 3);
    }
}

__attribute__((target("sha,ssse3,sse4.1")))
void switchboard_sha1_compress_hardware(uint32_t state[5], const uint8_t *data, size_t blocks) {
    /* Message words are big-endian; the registers hold a, b, c, d with a in
       the highest lane, e alone in the highest lane of its own. */
    const __m128i big_endian = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)state), 0x1B);
    __m128i e_start = _mm_set_epi32((int)state[4], 0, 0, 0);
    for (; blocks > 0; blocks--, data += 64) {
        const __m128i abcd_start = abcd;
        /* The schedule as a ring of four groups of four words: group n
           (words 4n...4n+3) replaces group n-4 in slot n % 4. */
        __m128i words[4];
        for (int slot = 0; slot < 4; slot++) {
            words[slot] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * slot)), big_endian);
        }
        __m128i e = _mm_add_epi32(e_start, words[0]);
        __m128i before = abcd;
        for (int group = 0; group < 20; group++) {
            before = abcd;
            abcd = four_rounds(abcd, e, group);
            if (group == 19) break;
            const int next = group + 1;
            if (next >= 4) {
                /* W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]) for four words. */
                __m128i partial = _mm_sha1msg1_epu32(words[next & 3], words[(next + 1) & 3]);
                partial = _mm_xor_si128(partial, words[(next + 2) & 3]);
                words[next & 3] = _mm_sha1msg2_epu32(partial, words[(next + 3) & 3]);
            }
            /* The next group's e: a of four rounds ago, rotated, plus its words. */
            e = _mm_sha1nexte_epu32(before, words[next & 3]);
        }
        e_start = _mm_sha1nexte_epu32(before, e_start);
        abcd = _mm_add_epi32(abcd, abcd_start);
    }
    _mm_storeu_si128((__m128i *)state, _mm_shuffle_epi32(abcd, 0x1B));
    state[4] = (uint32_t)_mm_extract_epi32(e_start, 3);
}

#else

int switchboard_sha1_hardware_available(void) { return 0; }

void switchboard_sha1_compress_hardware(uint32_t state[5], const uint8_t *data, size_t blocks) {
    (void)state; (void)data; (void)blocks;
    __builtin_trap();
}

#endif
