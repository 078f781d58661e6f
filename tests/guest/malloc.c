/* Exercises brk/mmap-backed allocation: large mallocs and a realloc growth loop. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t sum_bytes(const unsigned char *p, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

int main(void) {
    static const size_t sizes[] = {
        1u << 10, 4u << 10, 64u << 10, 1u << 20, 16u << 20, 64u << 20, 256u << 20,
    };
    static const char *names[] = {"1K", "4K", "64K", "1M", "16M", "64M", "256M"};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        unsigned char pat = (unsigned char)(0xA5 ^ k);
        unsigned char *p = malloc(n);
        if (!p) {
            printf("%s malloc failed\n", names[k]);
            return 1;
        }
        memset(p, pat, n);
        uint64_t s = sum_bytes(p, n);
        if (s != (uint64_t)pat * n || p[0] != pat || p[n - 1] != pat) {
            printf("%s checksum mismatch\n", names[k]);
            return 1;
        }
        free(p);
        printf("%s ok\n", names[k]);
    }

    size_t n = 1u << 10;
    unsigned char *p = malloc(n);
    if (!p) {
        printf("realloc initial malloc failed\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 31 + 7);
    while (n < (32u << 20)) {
        size_t nn = n * 2;
        unsigned char *q = realloc(p, nn);
        if (!q) {
            printf("realloc to %zu failed\n", nn);
            return 1;
        }
        p = q;
        for (size_t i = 0; i < n; i++) {
            if (p[i] != (unsigned char)(i * 31 + 7)) {
                printf("realloc to %zu: content lost at %zu\n", nn, i);
                return 1;
            }
        }
        for (size_t i = n; i < nn; i++)
            p[i] = (unsigned char)(i * 31 + 7);
        n = nn;
    }
    free(p);
    printf("realloc ok %zu\n", n);
    return 0;
}
