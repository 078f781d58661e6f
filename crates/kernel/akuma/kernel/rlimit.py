"""Resource limits (getrlimit/setrlimit/prlimit64)."""
RLIM_INFINITY = (1 << 64) - 1
RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS = 0, 1, 2, 3, 4, 5
RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS, RLIMIT_LOCKS = 6, 7, 8, 9, 10
RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO, RLIMIT_RTTIME = 11, 12, 13, 14, 15
RLIM_NLIMITS = 16


def default_rlimits():
    """What a Linux login shell typically starts with."""
    lim = [[RLIM_INFINITY, RLIM_INFINITY] for _ in range(RLIM_NLIMITS)]
    lim[RLIMIT_STACK] = [8 << 20, RLIM_INFINITY]
    lim[RLIMIT_CORE] = [0, RLIM_INFINITY]
    lim[RLIMIT_NPROC] = [4096, 4096]
    lim[RLIMIT_NOFILE] = [1024, 4096]
    lim[RLIMIT_MEMLOCK] = [8 << 20, 8 << 20]
    lim[RLIMIT_SIGPENDING] = [4096, 4096]
    lim[RLIMIT_MSGQUEUE] = [819200, 819200]
    lim[RLIMIT_NICE] = [0, 0]       # raising priority needs root (Linux's INIT_RLIMITS)
    lim[RLIMIT_RTPRIO] = [0, 0]
    return lim
