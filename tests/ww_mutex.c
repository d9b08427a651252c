// SPDX-License-Identifier: MIT
/*
 * <kipc/ww_mutex.h>, in both classes (KIPC_DEFINE_WW_CLASS wound-wait,
 * KIPC_DEFINE_WD_CLASS wait-die):
 *
 *  - the seed's T1/T2 ABBA story, scripted step by step (T1 older locks A,
 *    T2 younger locks B, T1 asks for B, T2 asks for A: T2 gets -EDEADLK,
 *    backs off, takes A with lock_slow, both finish, T1 never sees
 *    -EDEADLK), in both request orders, then free-running for many rounds;
 *  - every decision, forced deterministically by "agent" threads that each
 *    own a context and run one command at a time for the main thread:
 *    wait-die (younger dies at once, older waits, nothing held: waits),
 *    wound-wait (the wounded younger fails at its next contended lock but not
 *    at an uncontended one, fails within a bound when already waiting, a
 *    younger requester waits and wounds nobody, a wounded context that let
 *    go of everything is not killed), -EALREADY, NULL context = plain mutex,
 *    trylock, lock_slow, is_locked, destroy;
 *  - rings of 3 and 4 contexts each holding one lock and wanting the next;
 *  - a randomized stress (seeded, bounded in wall time, 4 and 8 threads on
 *    8 locks, with a plain NULL-context user) with exact per-lock counters
 *    and an ownership check, under an alarm() watchdog;
 *  - _interruptible and _slow_interruptible return -EINTR when a signal
 *    handler ran while they waited (uninterruptible ones keep waiting);
 *  - the same between fork()ed processes on KIPC_PSHARED ww_mutexes in
 *    shared memory: an ABBA per round and a randomized stress.
 *
 * The cross-process tests run first, before this process has any thread
 * (ThreadSanitizer does not support fork() after threads).
 */
#include <kipc/ww_mutex.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
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

static KIPC_DEFINE_WW_CLASS(wound_wait_class);
static KIPC_DEFINE_WD_CLASS(wait_die_class);

struct klass {
	struct kipc_ww_class *cls;
	const char *name;
	bool wait_die;
};

static const struct klass classes[2] = {
	{ &wound_wait_class, "wound-wait", false },
	{ &wait_die_class, "wait-die", true },
};

/* "At once": far below any waiting, generous for sanitizers and qemu. */
#define PROMPT_S   0.25
/* A waiting wounded context must notice within this (it polls every 1 ms). */
#define WOUND_S    1.0
/* How long a command may take before the test gives up on it. */
#define CMD_S      10.0
/* A sentinel result: the command did not finish in time. */
#define NOT_DONE   12345

static unsigned long seed;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000L };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------ */
/* The watchdog: a hang ends the run with a reason, not the runner's timeout */
/* ------------------------------------------------------------------------ */

static const char *volatile watch_what = "?";

static void on_alarm(int sig)
{
	const char *w = watch_what;
	static const char pre[] = "Bail out! watchdog: ", post[] = " did not finish (deadlock?)\n";

	(void)sig;
	if (write(1, pre, sizeof(pre) - 1) < 0 || write(1, w, strlen(w)) < 0 ||
	    write(1, post, sizeof(post) - 1) < 0)
		_exit(3);
	_exit(3);
}

static void watchdog(const char *what, unsigned int secs)
{
	watch_what = what;
	signal(SIGALRM, on_alarm);
	alarm(secs);
}

/* ------------------------------------------------------------------------ */
/* Random numbers: one xorshift state per thread or process                 */
/* ------------------------------------------------------------------------ */

static uint32_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return (uint32_t)(x >> 32);
}

static uint64_t rnd_init(unsigned long base, int idx)
{
	uint64_t s = (uint64_t)base * 0x9e3779b97f4a7c15ull + (uint64_t)(idx + 1) * 0xbf58476d1ce4e5b9ull;
	int i;

	if (!s)
		s = 1;
	for (i = 0; i < 4; i++)
		rnd(&s);
	return s;
}

/* ------------------------------------------------------------------------ */
/* The documented back-off loop                                             */
/* ------------------------------------------------------------------------ */

/*
 * Locks set[0..n) with ctx in that order; held[i] says which are held
 * already.  On -EDEADLK: unlock everything, take the contended lock with
 * lock_slow, start again skipping what is held.  The lock call varies with
 * *rs (lock, lock_interruptible, trylock then lock), NULL: always lock.
 * Returns 0, or the unexpected error (everything unlocked then).
 */
static int acquire_all(struct kipc_ww_acquire_ctx *ctx, struct kipc_ww_mutex **set, int n,
		       bool *held, int *backoffs, uint64_t *rs)
{
	int i, j, r;

retry:
	for (i = 0; i < n; i++) {
		uint32_t how = rs ? rnd(rs) % 4 : 0;

		if (held[i])
			continue;
		if (how == 3 && kipc_ww_mutex_trylock(set[i], ctx))
			r = 0;
		else if (how == 1)
			r = kipc_ww_mutex_lock_interruptible(set[i], ctx);
		else
			r = kipc_ww_mutex_lock(set[i], ctx);
		if (r == 0) {
			held[i] = true;
			continue;
		}
		for (j = 0; j < n; j++) {
			if (held[j])
				kipc_ww_mutex_unlock(set[j]);
			held[j] = false;
		}
		if (r != -EDEADLK)
			return r;
		(*backoffs)++;
		if (rs && rnd(rs) % 2) {
			r = kipc_ww_mutex_lock_slow_interruptible(set[i], ctx);
			if (r)
				return r;
		} else {
			kipc_ww_mutex_lock_slow(set[i], ctx);
		}
		held[i] = true;
		goto retry;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Agents: threads owning one context each, run commands for the main thread */
/* ------------------------------------------------------------------------ */

enum op {
	OP_INIT = 1,	/* ww_acquire_init(ctx, cls) */
	OP_FINI,	/* ww_acquire_fini */
	OP_LOCK,	/* ww_mutex_lock(lock, ctx) */
	OP_LOCK_INTR,	/* ww_mutex_lock_interruptible(lock, ctx) */
	OP_SLOW,	/* ww_mutex_lock_slow(lock, ctx); result 0 */
	OP_SLOW_INTR,	/* ww_mutex_lock_slow_interruptible(lock, ctx) */
	OP_TRY,		/* ww_mutex_trylock(lock, ctx) */
	OP_PLAIN,	/* ww_mutex_lock(lock, NULL) */
	OP_PLAIN_INTR,	/* ww_mutex_lock_interruptible(lock, NULL) */
	OP_PLAIN_TRY,	/* ww_mutex_trylock(lock, NULL) */
	OP_UNLOCK,	/* ww_mutex_unlock(lock) */
	OP_EXIT,
};

struct agent {
	const char *name;
	struct kipc_ww_class *cls;
	pthread_t thread;
	pid_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned int posted, done;	/* under mu */
	enum op op;			/* under mu */
	struct kipc_ww_mutex *lock;	/* under mu */
	int result;			/* under mu */
	double elapsed;			/* under mu: seconds in the call */
	unsigned int acquired;		/* under mu: ctx.acquired after it */
	int calling;			/* atomic: inside a lock call */
	struct kipc_ww_acquire_ctx ctx;	/* the agent's own */
};

static void *agent_main(void *arg)
{
	struct agent *a = arg;

	__atomic_store_n(&a->tid, gettid(), __ATOMIC_RELEASE);
	for (;;) {
		struct kipc_ww_mutex *lock;
		enum op op;
		double t0;
		int r = 0;

		pthread_mutex_lock(&a->mu);
		while (a->done == a->posted)
			pthread_cond_wait(&a->cv, &a->mu);
		op = a->op;
		lock = a->lock;
		pthread_mutex_unlock(&a->mu);

		__atomic_store_n(&a->calling, 1, __ATOMIC_RELEASE);
		t0 = now();
		switch (op) {
		case OP_INIT:
			kipc_ww_acquire_init(&a->ctx, a->cls);
			break;
		case OP_FINI:
			kipc_ww_acquire_fini(&a->ctx);
			break;
		case OP_LOCK:
			r = kipc_ww_mutex_lock(lock, &a->ctx);
			break;
		case OP_LOCK_INTR:
			r = kipc_ww_mutex_lock_interruptible(lock, &a->ctx);
			break;
		case OP_SLOW:
			kipc_ww_mutex_lock_slow(lock, &a->ctx);
			break;
		case OP_SLOW_INTR:
			r = kipc_ww_mutex_lock_slow_interruptible(lock, &a->ctx);
			break;
		case OP_TRY:
			r = kipc_ww_mutex_trylock(lock, &a->ctx);
			break;
		case OP_PLAIN:
			r = kipc_ww_mutex_lock(lock, NULL);
			break;
		case OP_PLAIN_INTR:
			r = kipc_ww_mutex_lock_interruptible(lock, NULL);
			break;
		case OP_PLAIN_TRY:
			r = kipc_ww_mutex_trylock(lock, NULL);
			break;
		case OP_UNLOCK:
			kipc_ww_mutex_unlock(lock);
			break;
		case OP_EXIT:
			break;
		}
		__atomic_store_n(&a->calling, 0, __ATOMIC_RELEASE);

		pthread_mutex_lock(&a->mu);
		a->result = r;
		a->elapsed = now() - t0;
		a->acquired = a->ctx.acquired;
		a->done++;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		if (op == OP_EXIT)
			return NULL;
	}
}

static void agent_start(struct agent *a, const char *name, struct kipc_ww_class *cls)
{
	pthread_condattr_t ca;

	memset(a, 0, sizeof(*a));
	a->name = name;
	a->cls = cls;
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_create(&a->thread, NULL, agent_main, a);
	while (!__atomic_load_n(&a->tid, __ATOMIC_ACQUIRE))
		sleep_ms(1);
}

/* Starts a command; the previous one must have finished. */
static void post(struct agent *a, enum op op, struct kipc_ww_mutex *lock)
{
	pthread_mutex_lock(&a->mu);
	if (a->done != a->posted)
		diag("test bug: %s is still busy", a->name);
	a->op = op;
	a->lock = lock;
	a->result = NOT_DONE;
	a->posted++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* Waits up to secs for the command to finish; true if it has. */
static bool finish(struct agent *a, double secs)
{
	struct timespec ts;
	double end = now() + secs;
	bool fin;

	ts.tv_sec = (time_t)end;
	ts.tv_nsec = (long)((end - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&a->mu);
	while (a->done != a->posted)
		if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) == ETIMEDOUT)
			break;
	fin = a->done == a->posted;
	pthread_mutex_unlock(&a->mu);
	return fin;
}

static bool pending(struct agent *a)
{
	bool p;

	pthread_mutex_lock(&a->mu);
	p = a->done != a->posted;
	pthread_mutex_unlock(&a->mu);
	return p;
}

static int result(struct agent *a)
{
	int r;

	pthread_mutex_lock(&a->mu);
	r = a->done == a->posted ? a->result : NOT_DONE;
	pthread_mutex_unlock(&a->mu);
	return r;
}

static double elapsed(struct agent *a)
{
	double e;

	pthread_mutex_lock(&a->mu);
	e = a->elapsed;
	pthread_mutex_unlock(&a->mu);
	return e;
}

static unsigned int acquired(struct agent *a)
{
	unsigned int n;

	pthread_mutex_lock(&a->mu);
	n = a->acquired;
	pthread_mutex_unlock(&a->mu);
	return n;
}

/* Runs a command to its end; its result (NOT_DONE if it hangs). */
static int run(struct agent *a, enum op op, struct kipc_ww_mutex *lock)
{
	post(a, op, lock);
	if (!finish(a, CMD_S)) {
		diag("%s: command %d did not finish in %.0f s", a->name, (int)op, CMD_S);
		return NOT_DONE;
	}
	return result(a);
}

/* 'S' while the task sleeps, from /proc/self/task/TID/stat. */
static char task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
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
 * Waits (up to 5 s) until the agent is inside its (lock) command and asleep
 * there, seen a few times in a row, and still not done: it waits.
 */
static bool waiting(struct agent *a)
{
	double end = now() + 5.0;
	int streak = 0;

	while (now() < end) {
		if (!pending(a))
			return false;
		if (__atomic_load_n(&a->calling, __ATOMIC_ACQUIRE) && task_state(a->tid) == 'S') {
			if (++streak >= 3)
				return pending(a);
		} else {
			streak = 0;
		}
		sleep_ms(2);
	}
	return false;
}

static void agent_stop(struct agent *a)
{
	if (!finish(a, CMD_S))
		diag("%s: still busy at exit", a->name);
	post(a, OP_EXIT, NULL);
	pthread_join(a->thread, NULL);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
}

/* ------------------------------------------------------------------------ */
/* The seed's T1/T2 ABBA, scripted                                          */
/* ------------------------------------------------------------------------ */

/*
 * t2_first: T2 asks for A before T1 asks for B.  Wait-die: T2 dies at once
 * (A is held by the older T1).  Wound-wait: T2 waits for A, until T1 asks
 * for B and wounds it; then its wait ends in -EDEADLK.
 */
static void test_abba_scripted(const struct klass *k, bool t2_first)
{
	const char *n = k->name, *ord = t2_first ? "T2 asks first" : "T1 asks first";
	struct kipc_ww_mutex a, b;
	struct agent t1, t2;
	int r;

	kipc_ww_mutex_init(&a, k->cls);
	kipc_ww_mutex_init(&b, k->cls);
	agent_start(&t1, "T1", k->cls);
	agent_start(&t2, "T2", k->cls);
	run(&t1, OP_INIT, NULL);
	run(&t2, OP_INIT, NULL);		/* T2 is the younger */
	is(run(&t1, OP_LOCK, &a), 0, "%s ABBA (%s): T1 (older) locks A", n, ord);
	is(run(&t2, OP_LOCK, &b), 0, "%s ABBA (%s): T2 (younger) locks B", n, ord);
	if (!t2_first) {
		post(&t1, OP_LOCK, &b);
		ok(waiting(&t1), "%s ABBA (%s): T1 waits for B", n, ord);
		r = run(&t2, OP_LOCK, &a);
		is(r, -EDEADLK, "%s ABBA (%s): T2's lock of A gets -EDEADLK", n, ord);
		ok(elapsed(&t2) < PROMPT_S, "%s ABBA (%s): at once (%.2f ms)", n, ord,
		   elapsed(&t2) * 1e3);
	} else if (k->wait_die) {
		r = run(&t2, OP_LOCK, &a);
		is(r, -EDEADLK, "%s ABBA (%s): T2's lock of A gets -EDEADLK", n, ord);
		ok(elapsed(&t2) < PROMPT_S, "%s ABBA (%s): at once (%.2f ms)", n, ord,
		   elapsed(&t2) * 1e3);
		post(&t1, OP_LOCK, &b);
		ok(waiting(&t1), "%s ABBA (%s): T1 waits for B", n, ord);
	} else {
		post(&t2, OP_LOCK, &a);
		ok(waiting(&t2), "%s ABBA (%s): T2 (younger) waits for A", n, ord);
		post(&t1, OP_LOCK, &b);
		ok(finish(&t2, WOUND_S), "%s ABBA (%s): T1's request for B ends T2's wait "
		   "within %.1f s", n, ord, WOUND_S);
		is(result(&t2), -EDEADLK, "%s ABBA (%s): with -EDEADLK (wounded)", n, ord);
		finish(&t2, CMD_S);
	}
	ok(pending(&t1), "%s ABBA (%s): T1 still waits for B, no -EDEADLK", n, ord);
	is(acquired(&t2), 1, "%s ABBA (%s): T2 still holds B until it backs off", n, ord);
	run(&t2, OP_UNLOCK, &b);		/* back off */
	ok(finish(&t1, CMD_S), "%s ABBA (%s): T2 unlocked B: T1's lock returns", n, ord);
	is(result(&t1), 0, "%s ABBA (%s): T1 gets B (0, never -EDEADLK)", n, ord);
	post(&t2, OP_SLOW, &a);
	ok(waiting(&t2), "%s ABBA (%s): T2 sleeps in lock_slow(A) while T1 holds A", n, ord);
	run(&t1, OP_UNLOCK, &b);
	run(&t1, OP_UNLOCK, &a);
	run(&t1, OP_FINI, NULL);
	ok(finish(&t2, CMD_S), "%s ABBA (%s): T1 done: T2's lock_slow returns", n, ord);
	is(acquired(&t2), 1, "%s ABBA (%s): holding A", n, ord);
	is(run(&t2, OP_LOCK, &a), -EALREADY, "%s ABBA (%s): (locking A again: -EALREADY)", n,
	   ord);
	is(run(&t2, OP_LOCK, &b), 0, "%s ABBA (%s): T2's retry of B succeeds", n, ord);
	run(&t2, OP_UNLOCK, &a);
	run(&t2, OP_UNLOCK, &b);
	run(&t2, OP_FINI, NULL);
	ok(!kipc_ww_mutex_is_locked(&a) && !kipc_ww_mutex_is_locked(&b),
	   "%s ABBA (%s): both finished, A and B free", n, ord);
	agent_stop(&t1);
	agent_stop(&t2);
	kipc_ww_mutex_destroy(&a);
	kipc_ww_mutex_destroy(&b);
}

/* ------------------------------------------------------------------------ */
/* Rings: N contexts, each holding lock i and wanting lock i+1 (ABBA is N=2) */
/* ------------------------------------------------------------------------ */

struct ring {
	struct kipc_ww_class *cls;
	struct kipc_ww_mutex locks[4];
	long counter[4];		/* plain, under the lock */
	pthread_barrier_t bar;
	int n, rounds;
};

struct ring_thread {
	struct ring *ring;
	pthread_t thread;
	int idx;
	int backoffs, errors;
	double worst;			/* the longest round, seconds */
};

static void *ring_main(void *arg)
{
	struct ring_thread *t = arg;
	struct ring *g = t->ring;
	int round, i;

	for (round = 0; round < g->rounds; round++) {
		struct kipc_ww_acquire_ctx ctx;
		struct kipc_ww_mutex *set[2];
		bool held[2] = { false, false };
		double t0;

		/* Contexts are born in thread order: thread 0 is the oldest. */
		for (i = 0; i < g->n; i++) {
			if (i == t->idx)
				kipc_ww_acquire_init(&ctx, g->cls);
			pthread_barrier_wait(&g->bar);
		}
		set[0] = &g->locks[t->idx];
		set[1] = &g->locks[(t->idx + 1) % g->n];
		t0 = now();
		if (kipc_ww_mutex_lock(set[0], &ctx) != 0)
			t->errors++;
		held[0] = true;
		pthread_barrier_wait(&g->bar);	/* everyone holds one: a cycle */
		if (acquire_all(&ctx, set, 2, held, &t->backoffs, NULL) != 0) {
			t->errors++;
		} else {
			kipc_ww_acquire_done(&ctx);
			g->counter[t->idx]++;
			g->counter[(t->idx + 1) % g->n]++;
			kipc_ww_mutex_unlock(set[1]);
			kipc_ww_mutex_unlock(set[0]);
		}
		kipc_ww_acquire_fini(&ctx);
		if (now() - t0 > t->worst)
			t->worst = now() - t0;
		pthread_barrier_wait(&g->bar);
	}
	return NULL;
}

static void test_ring(const struct klass *k, int n, int rounds)
{
	static char what[64];
	struct ring g;
	struct ring_thread t[4];
	int i, backoffs = 0, errors = 0;
	double worst = 0, t0 = now();
	bool counts = true;

	memset(&g, 0, sizeof(g));
	g.cls = k->cls;
	g.n = n;
	g.rounds = rounds;
	for (i = 0; i < n; i++)
		kipc_ww_mutex_init(&g.locks[i], k->cls);
	pthread_barrier_init(&g.bar, NULL, (unsigned int)n);
	snprintf(what, sizeof(what), "%s ring of %d", k->name, n);
	watchdog(what, 60);
	for (i = 0; i < n; i++) {
		t[i] = (struct ring_thread){ .ring = &g, .idx = i };
		pthread_create(&t[i].thread, NULL, ring_main, &t[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i].thread, NULL);
		backoffs += t[i].backoffs;
		errors += t[i].errors;
		if (t[i].worst > worst)
			worst = t[i].worst;
	}
	alarm(0);
	diag("%s ring of %d: %d rounds in %.2f s, %d back-offs, longest round %.1f ms", k->name,
	     n, rounds, now() - t0, backoffs, worst * 1e3);
	ok(1, "%s ring of %d: %d rounds, every one resolved (no deadlock)", k->name, n, rounds);
	is(errors, 0, "%s ring of %d: no error other than -EDEADLK", k->name, n);
	is(t[0].backoffs, 0, "%s ring of %d: the oldest context never backed off", k->name, n);
	ok(backoffs >= rounds, "%s ring of %d: every round's cycle was broken by a back-off "
	   "(%d >= %d)", k->name, n, backoffs, rounds);
	if (n == 2)
		is(t[1].backoffs, rounds, "%s ring of 2 (ABBA): the younger backed off exactly "
		   "once a round", k->name);
	for (i = 0; i < n; i++)
		counts = counts && g.counter[i] == 2L * rounds;
	ok(counts, "%s ring of %d: every lock was taken twice a round", k->name, n);
	counts = true;
	for (i = 0; i < n; i++)
		counts = counts && !kipc_ww_mutex_is_locked(&g.locks[i]);
	ok(counts, "%s ring of %d: all locks free at the end", k->name, n);
	for (i = 0; i < n; i++)
		kipc_ww_mutex_destroy(&g.locks[i]);
	pthread_barrier_destroy(&g.bar);
}
