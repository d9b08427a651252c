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
__thread uint64_t kipc__start_cache __attribute__((tls_model("initial-exec")));
static struct kipc__proc proc_cache;
static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * In a fork child (its only thread): forget the parent's identity.  Other
 * files' child handlers that need the child's identity call this first,
 * since the order of handlers registered by constructors is the link order.
 */
void kipc__task_forget(void)
{
	kipc__tid_cache = 0;
	kipc__start_cache = 0;
	proc_cache.pid = 0;
	pthread_mutex_init(&proc_lock, NULL);
}

__attribute__((constructor)) static void task_init(void)
{
	pthread_atfork(NULL, NULL, kipc__task_forget);
}

uint32_t kipc__gettid_slow(void)
{
	kipc__tid_cache = (uint32_t)gettid();
	return kipc__tid_cache;
}

/*
 * Fields of a /proc stat file after the command name, which may itself hold
 * spaces and parentheses, hence the search for the last ')'.  Field 3 is the
 * state, field 22 the start time.  Returns 0, GONE if the task does not
 * exist (no such file, or reaped while we read), or UNKNOWN when /proc
 * cannot say (out of descriptors or memory, no permission, a file not
 * as expected): callers then count the task as alive, since declaring a
 * live task dead hands its lock or its unit to someone else.
 */
#define GONE	(-1)
#define UNKNOWN	(-2)

static int read_stat_file(const char *path, char *state, uint64_t *start)
{
	char buf[1024], *p;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? GONE : UNKNOWN;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0 && errno == ESRCH)
		n = 0;
	close(fd);
	if (n <= 0)
		return n == 0 ? GONE : UNKNOWN;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return UNKNOWN;
	*state = p[2];
	p += 3;
	for (int field = 4; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return UNKNOWN;
	}
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

static int read_stat(uint32_t tid, char *state, uint64_t *start)
{
	char path[64];

	/*
	 * The task/ form, not /proc/<tid>/stat: qemu-user fakes the latter
	 * for its own PID (with a start time of its own making and no state),
	 * and the two name the same thread everywhere else.
	 */
	snprintf(path, sizeof(path), "/proc/%u/task/%u/stat", tid, tid);
	return read_stat_file(path, state, start);
}

uint64_t kipc__thread_start_slow(void)
{
	char state;

	if (read_stat(kipc__gettid(), &state, &kipc__start_cache) < 0)
		kipc__start_cache = 0;
	return kipc__start_cache;
}

int kipc__task_alive(uint32_t tid, uint64_t start)
{
	char state;
	uint64_t now_start;
	int r;

	if (tid == 0 || (r = read_stat(tid, &state, &now_start)) == GONE)
		return 0;
	if (r == UNKNOWN)
		return 1;
	/* A killed process stays a zombie until its parent reaps it. */
	if (state == 'Z' || state == 'X' || state == 'x')
		return 0;
	return start == 0 || start == now_start;
}

/*
 * A process is its thread-group leader: same PID, same start time, and it
 * stays a zombie (dead, for us) from its exit until its parent reaps it.
 * The leader also shows 'Z' when only its main thread has exited
 * (pthread_exit) and other threads still run; /proc/<pid>/status then
 * counts more than the one zombie thread.  The task/ form is used for the
 * reason read_stat() gives.
 */
static int proc_has_threads(const char *path)
{
	char buf[2048], *p;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nThreads:");
	return p && strtol(p + 9, NULL, 10) > 1;
}

const struct kipc__proc *kipc__proc_self(void)
{
	struct kipc__proc *p = &proc_cache;

	/* Acquire: pairs with the release below; start is then complete. */
	if (!__atomic_load_n(&p->pid, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&proc_lock);
		if (!p->pid) {
			pid_t pid = getpid();
			char path[64], state;

			snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, pid);
			if (read_stat_file(path, &state, &p->start) < 0)
				p->start = 0;
			__atomic_store_n(&p->pid, (uint32_t)pid, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&proc_lock);
	}
	return p;
}

int kipc__proc_alive(uint32_t pid, uint64_t start)
{
	char path[64], state;
	uint64_t now_start;
	int r;

	if (pid == 0 || pid > INT32_MAX)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/stat", pid, pid);
	r = read_stat_file(path, &state, &now_start);
	if (r == GONE)
		return 0;
	if (r == UNKNOWN)
		return 1;
	if (state == 'Z' || state == 'X' || state == 'x') {
		/* A leader gone before its threads: alive while any remains. */
		snprintf(path, sizeof(path), "/proc/%u/status", pid);
		if (!proc_has_threads(path))
			return 0;
	}
	return start == 0 || start == now_start;
}
