/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by kipc's tests: clocks, sleeping, polling a task's
 * scheduler state, waiting for a flag, signal handlers, and children
 * (forking, reaping with a deadline, collecting stderr).
 *
 * Header-only: every test is a single translation unit, so everything here
 * is static, and a test that does not use a helper pays nothing for it.
 */
#ifndef KIPC_TESTUTIL_H
#define KIPC_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kipc/compiler.h>

#include "tap.h"

/* 1 in the ThreadSanitizer build (the library's own KIPC_TSAN), else 0. */
#ifdef KIPC_TSAN
#define UNDER_TSAN 1
#else
#define UNDER_TSAN 0
#endif

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

/* Seconds on clock clk (CLOCK_THREAD_CPUTIME_ID: this thread's CPU time). */
static inline double clock_sec(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Monotonic time in seconds, for deadlines and elapsed times. */
static inline double now(void)
{
	return clock_sec(CLOCK_MONOTONIC);
}

/* Monotonic time in nanoseconds, for deadlines that want integers. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps at least us microseconds; a signal handler does not cut it short. */
static inline void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Sleeps at least ms milliseconds; a signal handler does not cut it short. */
static inline void sleep_ms(long ms)
{
	sleep_us(ms * 1000);
}

/* In a spin-wait loop: yields the CPU every 64 turns (count in *spins). */
static inline void spin_yield(unsigned int *spins)
{
	if (++*spins % 64 == 0)
		sched_yield();
}

/* ------------------------------------------------------------------------ */
/* Waiting for other tasks                                                  */
/* ------------------------------------------------------------------------ */

/*
 * The scheduler state of task tid of process pid ('S' while it sleeps in
 * futex_wait, 'Z' for a zombie), from /proc/PID/task/TID/stat: the
 * character after the ")" closing the name; '?' if it cannot be read.
 */
static __attribute__((unused)) char task_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * A phase word between processes (in shared memory): set_phase() publishes
 * v (release), wait_phase() sleeps until it reaches v (acquire), so what the
 * setter did before is visible after.
 */
static inline void set_phase(int *phase, int v)
{
	__atomic_store_n(phase, v, __ATOMIC_RELEASE);
}

static inline void wait_phase(int *phase, int v)
{
	while (__atomic_load_n(phase, __ATOMIC_ACQUIRE) < v)
		sleep_ms(1);
}

/* Waits up to secs for *flag to become nonzero (acquire); its last value. */
static inline bool wait_flag(int *flag, double secs)
{
	double end = now() + secs;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && now() < end)
		sleep_ms(1);
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */
/* ------------------------------------------------------------------------ */

/* Installs fn for sig with sa_flags flags (0, or SA_RESTART) and no mask. */
static inline void set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

/* ------------------------------------------------------------------------ */
/* Children                                                                 */
/* ------------------------------------------------------------------------ */

/* fork(), the child bound to die with the parent or by SIGALRM in 20 s. */
static inline pid_t fork_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(20);
	}
	return pid;
}

/* The child's exit code, or -1 (killed, or not done in 20 s: then killed). */
static __attribute__((unused)) int wait_child(pid_t pid)
{
	int status;
	uint64_t deadline = now_ns() + 20000000000ull;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r == -1 && errno != EINTR)
			return -1;
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ms(2);
	}
}

/* Reaps a child, killing it if not done within secs; true if it exited 0. */
static __attribute__((unused)) bool reap_child(pid_t pid, double secs)
{
	double end = now() + secs;
	int status;

	while (now() < end) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (r < 0)
			return false;
		sleep_ms(2);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return false;
}

/* fork_child(), the child's SIGALRM back to its default (for tests that handle it). */
static __attribute__((unused)) pid_t fork_kid(void)
{
	pid_t pid = fork_child();

	if (pid == 0)
		signal(SIGALRM, SIG_DFL);
	return pid;
}

/* The raw wait status of a child (-1 if it hangs for secs: then killed). */
static __attribute__((unused)) int child_status(pid_t pid, double secs)
{
	double end = now() + secs;
	int status;

	if (pid <= 0)
		return -1;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		if (now() > end) {
			diag("child %d hangs: killing it", (int)pid);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ms(1);
	}
}

/* A child_status() of a child that exited with 0. */
static inline bool child_exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Waits until a child is asleep ('S') for a few consecutive looks. */
static __attribute__((unused)) bool child_asleep(pid_t pid, double secs)
{
	double end = now() + secs;
	int streak = 0;

	while (now() < end) {
		char st = task_state(pid, pid);

		streak = st == 'S' ? streak + 1 : 0;
		if (streak >= 5)
			return true;
		if (st == 'Z' || st == '?')
			return false;
		sleep_ms(2);
	}
	return false;
}

/* Waits up to secs for a child to end, without reaping it; true if it did. */
static __attribute__((unused)) bool child_ended_within(pid_t pid, double secs)
{
	double end = now() + secs;

	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			return true;
		if (now() > end)
			return false;
		sleep_ms(1);
	}
}

/* How a child run by run_child() ended: its wait status and its stderr. */
struct outcome {
	int status;
	char err[4096];
};

/*
 * Runs fn in a child with stderr on a pipe (no core dump; SIGALRM after
 * alarm_secs unless 0), killing it after 30 s; collects status and stderr.
 */
static __attribute__((unused)) void run_child(void (*fn)(void), struct outcome *out,
					      unsigned int alarm_secs)
{
	int fds[2];
	size_t len = 0;
	double end = now() + 30.0;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->status = -1;
	if (pipe(fds) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };

		setrlimit(RLIMIT_CORE, &nocore);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		if (alarm_secs)
			alarm(alarm_secs);
		fn();
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		ssize_t n;
		char scratch[256];

		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
			break;
		if (now() > end) {
			diag("child %d hangs: killing it", (int)pid);
			kill(pid, SIGKILL);
			break;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if (len < sizeof(out->err) - 1)
			n = read(fds[0], out->err + len, sizeof(out->err) - 1 - len);
		else
			n = read(fds[0], scratch, sizeof(scratch));
		if (n <= 0)
			break;
		if (len < sizeof(out->err) - 1)
			len += (size_t)n;
	}
	close(fds[0]);
	out->err[len] = '\0';
	if (pid > 0)
		waitpid(pid, &out->status, 0);
}

/* Whether a run_child() child died of SIGABRT. */
static inline bool aborted(const struct outcome *o)
{
	return o->status != -1 && WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGABRT;
}

/* ------------------------------------------------------------------------ */
/* Test namespaces                                                          */
/* ------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Removes path and everything below it (a test's namespace directory). */
static __attribute__((unused)) void rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Removes /dev/shm/<prefix><pid> directories left by earlier runs that were
 * killed: their PID is gone.
 */
static __attribute__((unused)) void remove_leftovers(const char *prefix)
{
	size_t len = strlen(prefix);
	struct dirent *de;
	DIR *d = opendir("/dev/shm");

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX], *end;
		long pid;

		if (strncmp(de->d_name, prefix, len))
			continue;
		pid = strtol(de->d_name + len, &end, 10);
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", de->d_name);
		rm_tree(path);
	}
	closedir(d);
}

#endif /* KIPC_TESTUTIL_H */
