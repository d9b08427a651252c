// SPDX-License-Identifier: MIT
/*
 * Thread identity and liveness; see task.h.
 *
 * The TID is cached per thread because the mutex fast path stores it in the
 * owner word and a gettid() syscall would cost more than the whole lock.
 * fork() gives the child's only thread a new TID, so an atfork handler
 * clears the cache; glibc does the same for its own copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "task.h"

__thread uint32_t kipc__tid_cache __attribute__((tls_model("initial-exec")));
static __thread uint64_t start_cache __attribute__((tls_model("initial-exec")));

static void forget_identity(void)
{
	kipc__tid_cache = 0;
	start_cache = 0;
}

__attribute__((constructor)) static void task_init(void)
{
	pthread_atfork(NULL, NULL, forget_identity);
}

uint32_t kipc__gettid_slow(void)
{
	kipc__tid_cache = (uint32_t)gettid();
	return kipc__tid_cache;
}

/*
 * Fields of /proc/<tid>/stat after the command name, which may itself hold
 * spaces and parentheses, hence the search for the last ')'.  Field 3 is the
 * state, field 22 the start time.  Returns -1 if the thread does not exist.
 */
static int read_stat(uint32_t tid, char *state, uint64_t *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	/*
	 * The task/ form, not /proc/<tid>/stat: qemu-user fakes the latter
	 * for its own PID (with a start time of its own making and no state),
	 * and the two name the same thread everywhere else.
	 */
	snprintf(path, sizeof(path), "/proc/%u/task/%u/stat", tid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	*state = p[2];
	p += 3;
	for (int field = 4; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -1;
	}
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

uint64_t kipc__thread_start(void)
{
	char state;

	if (!start_cache && read_stat(kipc__gettid(), &state, &start_cache) < 0)
		start_cache = 0;
	return start_cache;
}

int kipc__task_alive(uint32_t tid, uint64_t start)
{
	char state;
	uint64_t now_start;

	if (tid == 0 || read_stat(tid, &state, &now_start) < 0)
		return 0;
	/* A killed process stays a zombie until its parent reaps it. */
	if (state == 'Z' || state == 'X' || state == 'x')
		return 0;
	return start == 0 || start == now_start;
}
