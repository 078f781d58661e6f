/* A large static binary (48 MiB of initialized data): it must start without
 * being read whole (VmRSS stays small) and see the right bytes where it
 * looks, including copy-on-write of its .data. */
#include <stdio.h>
#include <string.h>

#define RO (40 << 20)
#define RW (8 << 20)
static const unsigned char rodata[RO] = {1, [RO / 2] = 2, [RO - 1] = 3};
static unsigned char data[RW] = {4, [RW / 2] = 5, [RW - 1] = 6};

static long vm_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f) fclose(f);
    return kb;
}

int main(int argc, char **argv) {
    long rss = vm_rss_kb();
    volatile const unsigned char *ro = rodata;
    printf("rodata %d %d %d %d\n", ro[0], ro[RO / 2], ro[RO - 1], ro[12345]);
    printf("data %d %d %d\n", data[0], data[RW / 2], data[RW - 1]);
    data[RW / 2] = 50;
    memset(data + 4096, 7, 3 * 4096);
    printf("data after write %d %d %d\n", data[RW / 2], data[4096 * 2], data[RW - 1]);
    if (argc > 1)
        printf("rss at start %ld kB\n", rss);
    return 0;
}
