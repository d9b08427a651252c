// SPDX-License-Identifier: MIT
/*
 * src/futex.h: kipc__futex_wait / kipc__futex_wake.  -EAGAIN on a changed
 * value, relative and absolute (CLOCK_MONOTONIC, CLOCK_REALTIME) timeouts,
 * deadlines in the past, waking one waiter, none, or all, -EINTR from a
 * signal handler installed without SA_RESTART, and a process-shared futex in
 * MAP_SHARED memory between a parent and a fork()ed child (run first, before
 * this process has any thread).
 */
#include "futex.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

static struct timespec ts_after(clockid_t clk, double secs)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	} else if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000L;
	}
	return ts;
}

/* Waits (up to 5 s) until the task has been asleep for a few polls in a row. */
static bool wait_asleep(pid_t pid, pid_t tid)
{
	double end = now() + 5.0;
	int streak = 0;

	while (now() < end) {
		if (task_state(pid, tid) == 'S') {
			if (++streak >= 3)
				return true;
		} else {
			streak = 0;
		}
		sleep_ms(1);
	}
	return false;
}

/* ------------------------------------------------------------------------ */
/* A process-shared futex between parent and child (no threads yet).        */
/* ------------------------------------------------------------------------ */

static void test_shared_fork(void)
{
	uint32_t *word;
	pid_t pid;
	int status = -1, priv = -1, woke = 0, r;
	double end;

	word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (word == MAP_FAILED) {
		diag("mmap: %s", strerror(errno));
		ok(0, "shared futex: mmap");
		return;
	}
	__atomic_store_n(word, 0, __ATOMIC_RELAXED);
	pid = fork();
	if (pid < 0) {
		ok(0, "shared futex: fork");
		return;
	}
	if (pid == 0) {
		struct timespec ts = { 10, 0 };

		r = kipc__futex_wait(word, 0, &ts, KIPC__FUTEX_SHARED);
		_exit(r == 0 ? 0 : r == -ETIMEDOUT ? 2 : r == -EAGAIN ? 3 : 4);
	}
	ok(wait_asleep(pid, pid), "the child went to sleep on the shared futex");
	/* A private wake is keyed by this process's mm: it cannot reach the child. */
	priv = kipc__futex_wake(word, 1, 0);
	end = now() + 5.0;
	while (!(woke = kipc__futex_wake(word, 1, KIPC__FUTEX_SHARED)) && now() < end)
		sleep_ms(1);
	if (!woke) {
		kill(pid, SIGKILL);
		diag("could not wake the child");
	}
	waitpid(pid, &status, 0);
	is(priv, 0, "a private wake does not wake a process-shared waiter");
	is(woke, 1, "KIPC__FUTEX_SHARED wake from the parent woke the child's wait");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "the child's kipc__futex_wait returned 0 (status %#x)", status);
	munmap(word, 4096);
}

/* ------------------------------------------------------------------------ */
/* Values and timeouts, one thread.                                         */
/* ------------------------------------------------------------------------ */

static void test_eagain(void)
{
	uint32_t w = 5;
	struct timespec rel = { 1, 0 }, abs = ts_after(CLOCK_MONOTONIC, 1.0);
	double t0 = now();

	is(kipc__futex_wait(&w, 4, NULL, 0), -EAGAIN, "wait with a different value: -EAGAIN");
	is(kipc__futex_wait(&w, 6, &rel, KIPC__FUTEX_SHARED), -EAGAIN,
	   "shared wait with a different value and a timeout: -EAGAIN");
	is(kipc__futex_wait(&w, 0, &abs, KIPC__FUTEX_ABS), -EAGAIN,
	   "absolute-deadline wait with a different value: -EAGAIN");
	ok(now() - t0 < 0.9, "and none of them slept");
}

static void test_timeouts(void)
{
	uint32_t w = 0;
	struct timespec rel = { 0, 50 * 1000000L }, zero = { 0, 0 }, abs;
	double t0, dt, rt;
	int r;

	t0 = now();
	r = kipc__futex_wait(&w, 0, &rel, 0);
	dt = now() - t0;
	is(r, -ETIMEDOUT, "relative 50 ms timeout: -ETIMEDOUT");
	ok(dt >= 0.049 && dt < 5.0, "it slept about 50 ms (%.1f ms)", dt * 1e3);

	t0 = now();
	r = kipc__futex_wait(&w, 0, &rel, KIPC__FUTEX_SHARED);
	dt = now() - t0;
	ok(r == -ETIMEDOUT && dt >= 0.049 && dt < 5.0,
	   "shared relative 50 ms timeout (%d, %.1f ms)", r, dt * 1e3);

	abs = ts_after(CLOCK_MONOTONIC, 0.03);
	t0 = now();
	r = kipc__futex_wait(&w, 0, &abs, KIPC__FUTEX_ABS);
	dt = now() - t0;
	is(r, -ETIMEDOUT, "absolute CLOCK_MONOTONIC deadline: -ETIMEDOUT");
	ok(dt >= 0.029 && dt < 5.0, "it slept until the deadline (%.1f ms)", dt * 1e3);

	abs = ts_after(CLOCK_REALTIME, 0.03);
	t0 = now();
	r = kipc__futex_wait(&w, 0, &abs, KIPC__FUTEX_ABS | KIPC__FUTEX_REALTIME);
	dt = now() - t0;
	rt = clock_sec(CLOCK_REALTIME);
	is(r, -ETIMEDOUT, "absolute CLOCK_REALTIME deadline: -ETIMEDOUT");
	ok(rt >= (double)abs.tv_sec + (double)abs.tv_nsec * 1e-9 - 0.001 && dt < 5.0,
	   "CLOCK_REALTIME had reached the deadline (%.1f ms)", dt * 1e3);

	abs = ts_after(CLOCK_MONOTONIC, 0.03);
	t0 = now();
	r = kipc__futex_wait(&w, 0, &abs, KIPC__FUTEX_ABS | KIPC__FUTEX_SHARED);
	dt = now() - t0;
	ok(r == -ETIMEDOUT && dt >= 0.029 && dt < 5.0,
	   "shared absolute CLOCK_MONOTONIC deadline (%d, %.1f ms)", r, dt * 1e3);

	/* deadlines already past: at once */
	abs = ts_after(CLOCK_MONOTONIC, -1.0);
	t0 = now();
	r = kipc__futex_wait(&w, 0, &abs, KIPC__FUTEX_ABS);
	dt = now() - t0;
	ok(r == -ETIMEDOUT && dt < 0.5, "a past CLOCK_MONOTONIC deadline: -ETIMEDOUT at once "
	   "(%d, %.1f ms)", r, dt * 1e3);
	abs = ts_after(CLOCK_REALTIME, -1.0);
	t0 = now();
	r = kipc__futex_wait(&w, 0, &abs, KIPC__FUTEX_ABS | KIPC__FUTEX_REALTIME);
	dt = now() - t0;
	ok(r == -ETIMEDOUT && dt < 0.5, "a past CLOCK_REALTIME deadline: -ETIMEDOUT at once "
	   "(%d, %.1f ms)", r, dt * 1e3);
	t0 = now();
	r = kipc__futex_wait(&w, 0, &zero, 0);
	dt = now() - t0;
	ok(r == -ETIMEDOUT && dt < 0.5, "a zero relative timeout: -ETIMEDOUT at once "
	   "(%d, %.1f ms)", r, dt * 1e3);
}

/* ------------------------------------------------------------------------ */
/* Wakes between threads.                                                   */
/* ------------------------------------------------------------------------ */

static uint32_t futex_word;

struct waiter {
	pthread_t thread;
	pid_t tid;
	int result;
	int done;
	bool forever;
};

static void *waiter_main(void *arg)
{
	struct waiter *wt = arg;
	struct timespec ts = { 10, 0 };
	int r;

	__atomic_store_n(&wt->tid, gettid(), __ATOMIC_RELEASE);
	r = kipc__futex_wait(&futex_word, 0, wt->forever ? NULL : &ts, 0);
	wt->result = r;
	__atomic_store_n(&wt->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void start_waiters(struct waiter *ws, int n, bool forever)
{
	int i;

	for (i = 0; i < n; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].result = 1;
		ws[i].forever = forever;
		pthread_create(&ws[i].thread, NULL, waiter_main, &ws[i]);
	}
	for (i = 0; i < n; i++) {
		while (!__atomic_load_n(&ws[i].tid, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		if (!wait_asleep(getpid(), ws[i].tid))
			diag("waiter %d never looked asleep", i);
	}
}

static int count_done(struct waiter *ws, int n)
{
	int i, d = 0;

	for (i = 0; i < n; i++)
		d += __atomic_load_n(&ws[i].done, __ATOMIC_ACQUIRE);
	return d;
}

/* Wakes the stragglers (so the joins cannot hang) and joins; returns woken. */
static int finish_waiters(struct waiter *ws, int n)
{
	double end = now() + 5.0;
	int woken = 0, i;

	while (count_done(ws, n) < n && now() < end) {
		woken += kipc__futex_wake(&futex_word, INT_MAX, 0);
		sleep_ms(1);
	}
	for (i = 0; i < n; i++)
		pthread_join(ws[i].thread, NULL);
	return woken;
}

static void test_wake_one(void)
{
	struct waiter ws[1];
	double end;
	int r = 0;

	futex_word = 0;
	is(kipc__futex_wake(&futex_word, 1, 0), 0, "wake with no waiter returns 0");
	is(kipc__futex_wake(&futex_word, INT_MAX, 0), 0, "wake all with no waiter returns 0");
	start_waiters(ws, 1, false);
	end = now() + 5.0;
	while (!(r = kipc__futex_wake(&futex_word, 1, 0)) && now() < end)
		sleep_ms(1);
	finish_waiters(ws, 1);
	is(r, 1, "wake from another thread returns 1 for one waiter");
	is(ws[0].result, 0, "the woken waiter's kipc__futex_wait returned 0");
	is(kipc__futex_wake(&futex_word, 1, 0), 0, "a second wake finds nobody");
}

static void test_wake_all(void)
{
	struct waiter ws[3];
	int r, rest, i, ok0 = 0;
	double end;

	futex_word = 0;
	start_waiters(ws, 3, false);
	r = kipc__futex_wake(&futex_word, INT_MAX, 0);
	rest = finish_waiters(ws, 3);
	is(r, 3, "wake(INT_MAX) wakes all 3 waiters at once");
	is(rest, 0, "nobody was left for a later wake");
	for (i = 0; i < 3; i++)
		ok0 += ws[i].result == 0;
	is(ok0, 3, "all 3 waits returned 0");

	/* wake(1) wakes exactly one of them */
	start_waiters(ws, 3, false);
	r = kipc__futex_wake(&futex_word, 1, 0);
	end = now() + 5.0;
	while (count_done(ws, 3) < 1 && now() < end)
		sleep_ms(1);
	sleep_ms(20);
	is(r, 1, "wake(1) with 3 waiters returns 1");
	is(count_done(ws, 3), 1, "and exactly one waiter returned");
	r = kipc__futex_wake(&futex_word, 5, 0);
	rest = finish_waiters(ws, 3);
	is(r + rest, 2, "a wake(5) then finds the other 2");
}

/* ------------------------------------------------------------------------ */
/* -EINTR.                                                                  */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t handler_ran;

static void on_usr1(int sig)
{
	(void)sig;
	handler_ran = 1;
}

static void test_eintr(void)
{
	struct sigaction sa, old;
	struct waiter ws[1];
	double end;
	int sent = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;             /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, &old);
	handler_ran = 0;
	futex_word = 0;

	/* A wait with no timeout: without SA_RESTART it must not restart. */
	start_waiters(ws, 1, true);
	end = now() + 5.0;
	while (!__atomic_load_n(&ws[0].done, __ATOMIC_ACQUIRE) && now() < end) {
		/* if a signal lands before the wait starts, the next one counts */
		pthread_kill(ws[0].thread, SIGUSR1);
		sent++;
		sleep_ms(10);
	}
	finish_waiters(ws, 1);
	is(ws[0].result, -EINTR, "a signal handler interrupting a wait gives -EINTR "
	   "(%d signal(s))", sent);
	ok(handler_ran, "the handler ran");

	/* The same with a timeout. */
	handler_ran = 0;
	start_waiters(ws, 1, false);
	end = now() + 5.0;
	sent = 0;
	while (!__atomic_load_n(&ws[0].done, __ATOMIC_ACQUIRE) && now() < end) {
		pthread_kill(ws[0].thread, SIGUSR1);
		sent++;
		sleep_ms(10);
	}
	finish_waiters(ws, 1);
	is(ws[0].result, -EINTR, "a signal during a timed wait gives -EINTR (%d signal(s))", sent);
	ok(handler_ran, "the handler ran");
	sigaction(SIGUSR1, &old, NULL);
}

int main(void)
{
	test_shared_fork();     /* first: fork before any thread exists */
	test_eagain();
	test_timeouts();
	test_wake_one();
	test_wake_all();
	test_eintr();
	return done_testing();
}
