/* Prints argc/argv/envp and the auxiliary vector, one key=value per line.
 * With ARGS_QUIET_ENV=1 only env entries starting with AKUMA_TEST_ are printed. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

int main(int argc, char **argv, char **envp) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);

    const char *quiet = getenv("ARGS_QUIET_ENV");
    int q = quiet && strcmp(quiet, "1") == 0;
    char **e = envp;
    int n = 0;
    for (; *e; e++, n++) {
        if (!q)
            printf("envp[%d]=%s\n", n, *e);
        else if (strncmp(*e, "AKUMA_TEST_", 11) == 0)
            printf("env=%s\n", *e);
    }
    if (!q)
        printf("envc=%d\n", n);

    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    printf("AT_PHNUM=%lu\n", getauxval(AT_PHNUM));
    printf("AT_CLKTCK=%lu\n", getauxval(AT_CLKTCK));
    printf("AT_UID=%lu\n", getauxval(AT_UID));
    printf("AT_EUID=%lu\n", getauxval(AT_EUID));
    printf("AT_GID=%lu\n", getauxval(AT_GID));
    printf("AT_EGID=%lu\n", getauxval(AT_EGID));
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    printf("AT_PHDR_nonzero=%d\n", getauxval(AT_PHDR) != 0);
    printf("AT_ENTRY_nonzero=%d\n", getauxval(AT_ENTRY) != 0);
    printf("AT_RANDOM_nonzero=%d\n", getauxval(AT_RANDOM) != 0);
    unsigned long execfn = getauxval(AT_EXECFN);
    printf("AT_EXECFN_nonzero=%d\n", execfn != 0);
    printf("AT_EXECFN=%s\n", execfn ? (const char *)execfn : "(null)");
    printf("AT_HWCAP_ASIMD=%d\n", (int)((getauxval(AT_HWCAP) >> 1) & 1));

    /* Walk auxv directly: it starts right after envp's terminating NULL. */
    Elf64_auxv_t *av = (Elf64_auxv_t *)(e + 1);
    printf("auxv_types=");
    for (int first = 1; av->a_type != AT_NULL; av++, first = 0)
        printf("%s%lu", first ? "" : ",", (unsigned long)av->a_type);
    printf("\n");
    return 0;
}
