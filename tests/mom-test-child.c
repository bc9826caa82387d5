/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "mom-test-child.h"

long
mom_child_arg(const char *prog, const char *what, const char *s, long lo, long hi)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "%s: %s must be an integer from %ld to %ld, not '%s'.\n", prog, what, lo,
                hi, s);
        exit(2);
    }
    return v;
}

int
mom_child_bound(const char *prog, long seconds)
{
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : write(fd, "1000", 4);
    int err = errno;

    if (fd >= 0)
        close(fd);
    if (n != 4) {
        fprintf(stderr,
                "%s: cannot set /proc/self/oom_score_adj to 1000: %s; refusing to take the "
                "host's memory.\n",
                prog, strerror(err));
        return -1;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) { /* the parent died before prctl */
        fprintf(stderr, "%s: its parent has already gone.\n", prog);
        return -1;
    }
    alarm((unsigned)seconds);
    return 0;
}
