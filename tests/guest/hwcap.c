/* For every HWCAP bit the kernel advertises, execute an instruction of that
 * extension: a feature advertised but missing from the CPU model dies with
 * SIGILL here instead of deep inside libc. Prints the features exercised. */
#include <stdio.h>
#include <stdint.h>
#include <sys/auxv.h>

#define HWCAP_FP (1UL << 0)
#define HWCAP_ASIMD (1UL << 1)
#define HWCAP_AES (1UL << 3)
#define HWCAP_PMULL (1UL << 4)
#define HWCAP_SHA1 (1UL << 5)
#define HWCAP_SHA2 (1UL << 6)
#define HWCAP_CRC32 (1UL << 7)
#define HWCAP_ATOMICS (1UL << 8)
#define HWCAP_CPUID (1UL << 11)
#define HWCAP_ASIMDRDM (1UL << 12)
#define HWCAP_JSCVT (1UL << 13)
#define HWCAP_LRCPC (1UL << 15)
#define HWCAP_SHA3 (1UL << 17)
#define HWCAP_ASIMDDP (1UL << 20)
#define HWCAP_SHA512 (1UL << 21)
#define HWCAP_SVE (1UL << 22)
#define HWCAP_FLAGM (1UL << 27)
#define HWCAP_PACA (1UL << 30)

int main(void) {
    unsigned long hw = getauxval(AT_HWCAP);
    volatile uint32_t word = 5;
    uint64_t out = 0;
    printf("fp=%d asimd=%d\n", !!(hw & HWCAP_FP), !!(hw & HWCAP_ASIMD));
    if (hw & HWCAP_ATOMICS) {
        uint32_t old;
        __asm__ volatile(".arch_extension lse\n ldadd %w2, %w0, [%1]"
                         : "=r"(old) : "r"(&word), "r"(3u) : "memory");
        printf("atomics ldadd old=%u new=%u\n", old, word);
    }
    if (hw & HWCAP_CRC32) {
        uint32_t c = 0;
        __asm__ volatile(".arch_extension crc\n crc32b %w0, %w0, %w1" : "+r"(c) : "r"(0x61u));
        printf("crc32b=%08x\n", c);
    }
    if (hw & HWCAP_AES) {
        __asm__ volatile(".arch_extension aes\n aese v0.16b, v1.16b" ::: "v0");
        printf("aes ok\n");
    }
    if (hw & HWCAP_PMULL) {
        __asm__ volatile(".arch_extension aes\n pmull v0.1q, v1.1d, v2.1d" ::: "v0");
        printf("pmull ok\n");
    }
    if (hw & HWCAP_SHA1) {
        __asm__ volatile(".arch_extension sha2\n sha1h s0, s1" ::: "v0");
        printf("sha1 ok\n");
    }
    if (hw & HWCAP_SHA2) {
        __asm__ volatile(".arch_extension sha2\n sha256h q0, q1, v2.4s" ::: "v0");
        printf("sha2 ok\n");
    }
    if (hw & HWCAP_SHA3) {
        __asm__ volatile(".arch_extension sha3\n eor3 v0.16b, v1.16b, v2.16b, v3.16b" ::: "v0");
        printf("sha3 ok\n");
    }
    if (hw & HWCAP_SHA512) {
        __asm__ volatile(".arch_extension sha3\n sha512h q0, q1, v2.2d" ::: "v0");
        printf("sha512 ok\n");
    }
    if (hw & HWCAP_ASIMDDP) {
        __asm__ volatile(".arch_extension dotprod\n sdot v0.4s, v1.16b, v2.16b" ::: "v0");
        printf("dotprod ok\n");
    }
    if (hw & HWCAP_ASIMDRDM) {
        __asm__ volatile(".arch_extension rdm\n sqrdmlah v0.4s, v1.4s, v2.4s" ::: "v0");
        printf("rdm ok\n");
    }
    if (hw & HWCAP_JSCVT) {
        int32_t r;
        __asm__ volatile(".arch armv8.3-a\n fjcvtzs %w0, d0" : "=r"(r) :: "cc");
        printf("jscvt ok\n");
    }
    if (hw & HWCAP_LRCPC) {
        uint32_t v;
        __asm__ volatile(".arch armv8.3-a\n ldapr %w0, [%1]" : "=r"(v) : "r"(&word));
        printf("lrcpc ok %u\n", v);
    }
    if (hw & HWCAP_FLAGM) {
        __asm__ volatile(".arch armv8.4-a\n cfinv" ::: "cc");
        printf("flagm ok\n");
    }
    printf("cpuid=%d sve=%d paca=%d\n", !!(hw & HWCAP_CPUID), !!(hw & HWCAP_SVE),
           !!(hw & HWCAP_PACA));
    (void)out;
    return 0;
}
