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
#include "testutil.h"

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
		if (__atomic_load_n(&a->calling, __ATOMIC_ACQUIRE) &&
		    task_state(getpid(), a->tid) == 'S') {
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
	ok(now() - t0 < 30.0, "%s ring of %d: %d rounds, every one resolved (in %.2f s)",
	   k->name, n, rounds, now() - t0);
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

/* ------------------------------------------------------------------------ */
/* Wait-die decisions                                                       */
/* ------------------------------------------------------------------------ */

static void test_wait_die(void)
{
	const struct klass *k = &classes[1];
	struct kipc_ww_mutex a, b, x;
	struct agent o, y;

	kipc_ww_mutex_init(&a, k->cls);
	kipc_ww_mutex_init(&b, k->cls);
	kipc_ww_mutex_init(&x, k->cls);
	agent_start(&o, "older", k->cls);
	agent_start(&y, "younger", k->cls);
	run(&o, OP_INIT, NULL);
	run(&y, OP_INIT, NULL);

	/* A younger context holding a lock meets a lock held by an older one. */
	is(run(&o, OP_LOCK, &a), 0, "wait-die: the older locks A");
	is(run(&y, OP_LOCK, &x), 0, "wait-die: the younger locks X");
	is(run(&y, OP_LOCK, &a), -EDEADLK, "wait-die: the younger, holding X, dies on A "
	   "(held by the older): -EDEADLK");
	ok(elapsed(&y) < PROMPT_S, "wait-die: at once (%.3f ms), while the older still holds A",
	   elapsed(&y) * 1e3);
	is(run(&y, OP_LOCK_INTR, &a), -EDEADLK, "wait-die: lock_interruptible likewise: -EDEADLK");
	ok(elapsed(&y) < PROMPT_S, "wait-die: at once (%.3f ms)", elapsed(&y) * 1e3);
	is(acquired(&y), 1, "wait-die: the younger still holds X only (acquired 1)");
	is(run(&o, OP_LOCK, &a), -EALREADY, "wait-die: the older still holds A");

	/* A context holding nothing cannot be in a cycle: it waits. */
	run(&y, OP_UNLOCK, &x);
	post(&y, OP_LOCK, &a);
	ok(waiting(&y), "wait-die: the younger, holding nothing, waits for A instead of dying");
	sleep_ms(20);
	ok(pending(&y), "wait-die: still waiting after 20 ms, no -EDEADLK");
	run(&o, OP_UNLOCK, &a);
	ok(finish(&y, CMD_S), "wait-die: the older unlocked A: the younger's lock returns");
	is(result(&y), 0, "wait-die: with 0, holding A");

	/* An older context meets a lock held by a younger one: it waits. */
	is(run(&o, OP_LOCK, &b), 0, "wait-die: the older locks B");
	post(&o, OP_LOCK, &a);
	ok(waiting(&o), "wait-die: the older, holding B, waits for A held by the younger");
	sleep_ms(20);
	ok(pending(&o), "wait-die: still waiting after 20 ms, no -EDEADLK");
	/* Meanwhile the younger, holding A, dies on B held by the older. */
	is(run(&y, OP_LOCK, &b), -EDEADLK, "wait-die: the younger dies on B held by the older");
	ok(pending(&o), "wait-die: the older still waits");
	run(&y, OP_UNLOCK, &a);
	ok(finish(&o, CMD_S), "wait-die: the younger unlocked A: the older's lock returns");
	is(result(&o), 0, "wait-die: the older gets A: 0");
	is(acquired(&o), 2, "wait-die: the older holds A and B");
	/* The younger's back-off completes. */
	post(&y, OP_SLOW, &b);
	ok(waiting(&y), "wait-die: the younger waits in lock_slow(B)");
	run(&o, OP_UNLOCK, &a);
	run(&o, OP_UNLOCK, &b);
	run(&o, OP_FINI, NULL);
	ok(finish(&y, CMD_S) && acquired(&y) == 1, "wait-die: lock_slow returns holding B");
	is(run(&y, OP_LOCK, &a), 0, "wait-die: the younger's retry takes A");
	run(&y, OP_UNLOCK, &a);
	run(&y, OP_UNLOCK, &b);
	run(&y, OP_FINI, NULL);

	/* Against a lock taken with trylock, the same decision. */
	run(&o, OP_INIT, NULL);
	run(&y, OP_INIT, NULL);
	is(run(&o, OP_TRY, &a), 1, "wait-die: the older trylocks A: 1");
	is(run(&y, OP_TRY, &x), 1, "wait-die: the younger trylocks X: 1");
	is(run(&y, OP_TRY, &a), 0, "wait-die: the younger's trylock of A: 0");
	is(run(&y, OP_LOCK, &a), -EDEADLK, "wait-die: a trylocked lock counts: the younger, "
	   "holding X, dies on A");
	run(&y, OP_UNLOCK, &x);
	run(&o, OP_UNLOCK, &a);
	run(&o, OP_FINI, NULL);
	run(&y, OP_FINI, NULL);

	agent_stop(&o);
	agent_stop(&y);
	kipc_ww_mutex_destroy(&a);
	kipc_ww_mutex_destroy(&b);
	kipc_ww_mutex_destroy(&x);
}

/* ------------------------------------------------------------------------ */
/* Wound-wait decisions                                                     */
/* ------------------------------------------------------------------------ */

static void test_wound_wait(void)
{
	const struct klass *k = &classes[0];
	struct kipc_ww_mutex a, b, c, d;
	struct agent o, y;
	double t0;

	kipc_ww_mutex_init(&a, k->cls);
	kipc_ww_mutex_init(&b, k->cls);
	kipc_ww_mutex_init(&c, k->cls);
	kipc_ww_mutex_init(&d, k->cls);
	agent_start(&o, "older", k->cls);
	agent_start(&y, "younger", k->cls);

	/*
	 * The older asks for a lock held by a younger that is busy elsewhere:
	 * it waits, and the younger learns of the wound at its next
	 * contended lock, not at an uncontended one.
	 */
	run(&o, OP_INIT, NULL);
	run(&y, OP_INIT, NULL);
	is(run(&o, OP_LOCK, &a), 0, "wound-wait: the older locks A");
	is(run(&y, OP_LOCK, &b), 0, "wound-wait: the younger locks B");
	post(&o, OP_LOCK, &b);
	ok(waiting(&o), "wound-wait: the older waits for B (and wounds the younger)");
	is(run(&y, OP_LOCK, &c), 0, "wound-wait: the wounded younger's uncontended lock of C "
	   "still succeeds");
	is(run(&y, OP_TRY, &d), 1, "wound-wait: and so does its trylock of D");
	run(&y, OP_UNLOCK, &d);
	is(kipc_ww_mutex_lock(&d, NULL), 0, "wound-wait: a plain (NULL ctx) holder takes D");
	is(run(&y, OP_LOCK, &d), -EDEADLK, "wound-wait: the wounded younger's next contended "
	   "lock (D) gets -EDEADLK");
	ok(elapsed(&y) < PROMPT_S, "wound-wait: at once (%.3f ms)", elapsed(&y) * 1e3);
	ok(pending(&o), "wound-wait: the older still waits for B");
	run(&y, OP_UNLOCK, &c);
	ok(pending(&o), "wound-wait: (and still after C is unlocked)");
	run(&y, OP_UNLOCK, &b);
	ok(finish(&o, CMD_S), "wound-wait: the younger backed off: the older's lock returns");
	is(result(&o), 0, "wound-wait: the older gets B: 0");
	post(&y, OP_SLOW, &d);
	ok(waiting(&y), "wound-wait: the younger waits in lock_slow(D) for the plain holder");
	kipc_ww_mutex_unlock(&d);
	ok(finish(&y, CMD_S) && acquired(&y) == 1, "wound-wait: lock_slow returns holding D");
	run(&y, OP_UNLOCK, &d);
	run(&y, OP_FINI, NULL);
	run(&o, OP_UNLOCK, &b);

	/*
	 * Wounded while already waiting: the younger holds B and waits for C
	 * held by a plain holder; the older asks for B.
	 */
	run(&y, OP_INIT, NULL);
	is(run(&y, OP_LOCK, &b), 0, "wound-wait: a younger context locks B");
	kipc_ww_mutex_lock(&c, NULL);
	post(&y, OP_LOCK, &c);
	ok(waiting(&y), "wound-wait: the younger waits for C (held by a plain holder)");
	post(&o, OP_LOCK, &b);
	t0 = now();
	ok(finish(&y, WOUND_S), "wound-wait: the older's request for B ends the younger's "
	   "wait for C within %.1f s (%.1f ms)", WOUND_S, (now() - t0) * 1e3);
	is(result(&y), -EDEADLK, "wound-wait: with -EDEADLK");
	finish(&y, CMD_S);
	ok(kipc_ww_mutex_is_locked(&c), "wound-wait: C is still the plain holder's");
	ok(pending(&o), "wound-wait: the older waits for B");
	run(&y, OP_UNLOCK, &b);
	ok(finish(&o, CMD_S), "wound-wait: the younger let go of B: the older's lock returns");
	is(result(&o), 0, "wound-wait: the older gets B: 0");
	kipc_ww_mutex_unlock(&c);
	run(&y, OP_FINI, NULL);
	run(&o, OP_UNLOCK, &b);
	run(&o, OP_UNLOCK, &a);
	run(&o, OP_FINI, NULL);

	/*
	 * A younger asks for a lock held by an older: it waits, and wounds
	 * nobody: the older's own contended lock waits and succeeds.
	 */
	run(&o, OP_INIT, NULL);
	run(&y, OP_INIT, NULL);
	is(run(&o, OP_LOCK, &a), 0, "wound-wait: a new older locks A");
	is(run(&y, OP_LOCK, &b), 0, "wound-wait: a new younger locks B");
	post(&y, OP_LOCK, &a);
	ok(waiting(&y), "wound-wait: the younger, holding B, waits for A (held by the older)");
	sleep_ms(20);
	ok(pending(&y), "wound-wait: still waiting after 20 ms, no -EDEADLK");
	kipc_ww_mutex_lock(&c, NULL);
	post(&o, OP_LOCK, &c);
	ok(waiting(&o), "wound-wait: the older waits for C (plain holder): not wounded");
	sleep_ms(20);
	ok(pending(&o), "wound-wait: still waiting after 20 ms, no -EDEADLK");
	kipc_ww_mutex_unlock(&c);
	ok(finish(&o, CMD_S), "wound-wait: C released: the older's lock returns");
	is(result(&o), 0, "wound-wait: with 0");
	ok(pending(&y), "wound-wait: the younger still waits for A");
	run(&o, OP_UNLOCK, &c);
	run(&o, OP_UNLOCK, &a);
	ok(finish(&y, CMD_S), "wound-wait: A released: the younger's lock returns");
	is(result(&y), 0, "wound-wait: with 0");
	run(&y, OP_UNLOCK, &a);
	run(&y, OP_UNLOCK, &b);
	run(&y, OP_FINI, NULL);

	/* A wounded context that let go of everything is in no cycle. */
	run(&y, OP_INIT, NULL);
	is(run(&y, OP_LOCK, &b), 0, "wound-wait: another younger locks B");
	post(&o, OP_LOCK, &b);
	ok(waiting(&o), "wound-wait: the older waits for B (wounding the younger)");
	run(&y, OP_UNLOCK, &b);
	ok(finish(&o, CMD_S) && result(&o) == 0, "wound-wait: the younger unlocks B: the older "
	   "gets it");
	is(acquired(&y), 0, "wound-wait: the wounded younger holds nothing");
	kipc_ww_mutex_lock(&c, NULL);
	post(&y, OP_LOCK, &c);
	ok(waiting(&y), "wound-wait: it waits for C (plain holder)");
	sleep_ms(20);
	ok(pending(&y), "wound-wait: still waiting after 20 ms: no -EDEADLK with nothing held");
	kipc_ww_mutex_unlock(&c);
	ok(finish(&y, CMD_S), "wound-wait: C released: its lock returns");
	is(result(&y), 0, "wound-wait: with 0");
	run(&y, OP_UNLOCK, &c);
	run(&y, OP_FINI, NULL);
	run(&o, OP_UNLOCK, &b);
	run(&o, OP_FINI, NULL);

	agent_stop(&o);
	agent_stop(&y);
	kipc_ww_mutex_destroy(&a);
	kipc_ww_mutex_destroy(&b);
	kipc_ww_mutex_destroy(&c);
	kipc_ww_mutex_destroy(&d);
}

/* ------------------------------------------------------------------------ */
/* -EALREADY, trylock, NULL context, is_locked, destroy                     */
/* ------------------------------------------------------------------------ */

static void test_basics(const struct klass *k)
{
	const char *n = k->name;
	struct kipc_ww_mutex a;
	struct agent c1, c2, p;

	kipc_ww_mutex_init(&a, k->cls);
	agent_start(&c1, "ctx1", k->cls);
	agent_start(&c2, "ctx2", k->cls);
	agent_start(&p, "plain", k->cls);
	run(&c1, OP_INIT, NULL);
	run(&c2, OP_INIT, NULL);

	ok(!kipc_ww_mutex_is_locked(&a), "%s: a new ww_mutex is not locked", n);
	is(run(&c1, OP_LOCK, &a), 0, "%s: lock with a context: 0", n);
	ok(kipc_ww_mutex_is_locked(&a), "%s: is_locked after it", n);
	is(run(&c1, OP_LOCK, &a), -EALREADY, "%s: the same context locks it again: -EALREADY", n);
	is(run(&c1, OP_LOCK_INTR, &a), -EALREADY, "%s: lock_interruptible again: -EALREADY", n);
	is(acquired(&c1), 1, "%s: -EALREADY took nothing more (acquired 1)", n);
	is(run(&c2, OP_TRY, &a), 0, "%s: another context's trylock: 0", n);
	is(run(&p, OP_PLAIN_TRY, &a), 0, "%s: a plain trylock (NULL ctx): 0", n);
	run(&c1, OP_UNLOCK, &a);
	ok(!kipc_ww_mutex_is_locked(&a), "%s: one unlock frees it", n);
	is(acquired(&c1), 0, "%s: the context holds nothing then", n);

	is(run(&c1, OP_TRY, &a), 1, "%s: trylock with a context on a free lock: 1", n);
	ok(kipc_ww_mutex_is_locked(&a), "%s: is_locked after it", n);
	is(acquired(&c1), 1, "%s: the context counts it (acquired 1)", n);
	is(run(&c1, OP_LOCK, &a), -EALREADY, "%s: lock by the trylocking context: -EALREADY", n);
	is(run(&c2, OP_TRY, &a), 0, "%s: another context's trylock: 0", n);
	run(&c1, OP_UNLOCK, &a);
	is(run(&c2, OP_TRY, &a), 1, "%s: once unlocked, the other's trylock: 1", n);
	run(&c2, OP_UNLOCK, &a);

	/* NULL context: a plain mutex, contending with context users. */
	is(kipc_ww_mutex_lock(&a, NULL), 0, "%s: lock with a NULL context: 0", n);
	ok(kipc_ww_mutex_is_locked(&a), "%s: is_locked after it", n);
	is(run(&c2, OP_TRY, &a), 0, "%s: a context's trylock fails while a plain holder has it",
	   n);
	post(&c1, OP_LOCK, &a);
	ok(waiting(&c1), "%s: a context's lock waits for the plain holder", n);
	sleep_ms(20);
	ok(pending(&c1), "%s: still waiting after 20 ms (no -EDEADLK)", n);
	kipc_ww_mutex_unlock(&a);
	ok(finish(&c1, CMD_S) && result(&c1) == 0, "%s: the plain holder unlocks: the context "
	   "gets it (0)", n);
	post(&p, OP_PLAIN, &a);
	ok(waiting(&p), "%s: a plain (NULL ctx) lock waits for the context holder", n);
	run(&c1, OP_UNLOCK, &a);
	ok(finish(&p, CMD_S) && result(&p) == 0, "%s: the context unlocks: the plain locker "
	   "gets it (0)", n);
	is(run(&c1, OP_TRY, &a), 0, "%s: a context's trylock fails while held by plain", n);
	run(&p, OP_UNLOCK, &a);
	is(run(&p, OP_PLAIN_INTR, &a), 0, "%s: lock_interruptible with a NULL context: 0", n);
	is(kipc_ww_mutex_trylock(&a, NULL), 0, "%s: a plain trylock from elsewhere: 0", n);
	run(&p, OP_UNLOCK, &a);
	is(run(&p, OP_PLAIN_TRY, &a), 1, "%s: a plain trylock of the free lock: 1", n);
	run(&p, OP_UNLOCK, &a);
	ok(!kipc_ww_mutex_is_locked(&a), "%s: free at the end", n);
	run(&c1, OP_FINI, NULL);
	run(&c2, OP_FINI, NULL);

	agent_stop(&c1);
	agent_stop(&c2);
	agent_stop(&p);
	kipc_ww_mutex_destroy(&a);
	kipc_ww_mutex_init(&a, k->cls);
	ok(!kipc_ww_mutex_is_locked(&a), "%s: destroyed and initialised again: free", n);
	is(kipc_ww_mutex_trylock(&a, NULL), 1, "%s: and usable", n);
	kipc_ww_mutex_unlock(&a);
	kipc_ww_mutex_destroy(&a);
}

/* ------------------------------------------------------------------------ */
/* Signals: the _interruptible forms give -EINTR, the others keep waiting   */
/* ------------------------------------------------------------------------ */

static int handler_runs;

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_fetch_add(&handler_runs, 1, __ATOMIC_RELAXED);
}

/*
 * SIGUSR1 to the agent every 50 ms until its command ends (up to 3 s): a
 * signal that arrives between two of its 1 ms waits goes unnoticed.
 */
static int interrupt(struct agent *a)
{
	double end = now() + 3.0;
	int sent = 0;

	while (now() < end) {
		pthread_kill(a->thread, SIGUSR1);
		sent++;
		if (finish(a, 0.05))
			break;
	}
	return sent;
}

/* Five signals to a waiting agent; true if it is still waiting after. */
static bool survives_signals(struct agent *a)
{
	int i;

	for (i = 0; i < 5; i++) {
		pthread_kill(a->thread, SIGUSR1);
		sleep_ms(20);
	}
	sleep_ms(30);
	return pending(a);
}

static void test_interruptible(const struct klass *k, int saflags)
{
	char n[64];
	struct kipc_ww_mutex a, x;
	struct agent o, y;
	int sent, r;

	snprintf(n, sizeof(n), "%s, %s", k->name, saflags & SA_RESTART ? "SA_RESTART" :
		 "no SA_RESTART");
	set_handler(SIGUSR1, on_usr1, saflags);
	__atomic_store_n(&handler_runs, 0, __ATOMIC_RELAXED);
	kipc_ww_mutex_init(&a, k->cls);
	kipc_ww_mutex_init(&x, k->cls);
	agent_start(&o, "older", k->cls);
	agent_start(&y, "younger", k->cls);

	/* lock_interruptible, holding X, waiting for a plain holder */
	run(&y, OP_INIT, NULL);
	run(&y, OP_LOCK, &x);
	kipc_ww_mutex_lock(&a, NULL);
	post(&y, OP_LOCK_INTR, &a);
	ok(waiting(&y), "%s: lock_interruptible waits for a held lock", n);
	sent = interrupt(&y);
	ok(!pending(&y), "%s: a signal ends it (%d sent)", n, sent);
	is(result(&y), -EINTR, "%s: ww_mutex_lock_interruptible returns -EINTR", n);
	ok(__atomic_load_n(&handler_runs, __ATOMIC_RELAXED) >= 1, "%s: the handler ran", n);
	is(acquired(&y), 1, "%s: the context still holds X only", n);
	ok(kipc_ww_mutex_is_locked(&a), "%s: the lock is still its holder's", n);
	/* the plain form keeps waiting */
	post(&y, OP_LOCK, &a);
	ok(waiting(&y) && survives_signals(&y), "%s: ww_mutex_lock keeps waiting through "
	   "5 signals", n);
	kipc_ww_mutex_unlock(&a);
	ok(finish(&y, CMD_S) && result(&y) == 0, "%s: and returns 0 once it is free", n);
	run(&y, OP_UNLOCK, &a);
	is(run(&y, OP_LOCK_INTR, &a), 0, "%s: lock_interruptible of a free lock: 0", n);
	run(&y, OP_UNLOCK, &a);
	run(&y, OP_UNLOCK, &x);
	run(&y, OP_FINI, NULL);

	/* with a NULL context */
	kipc_ww_mutex_lock(&a, NULL);
	post(&y, OP_PLAIN_INTR, &a);
	ok(waiting(&y), "%s: NULL ctx lock_interruptible waits", n);
	interrupt(&y);
	is(result(&y), -EINTR, "%s: NULL ctx lock_interruptible returns -EINTR", n);
	kipc_ww_mutex_unlock(&a);

	/* lock_slow_interruptible after a back-off */
	run(&o, OP_INIT, NULL);
	run(&y, OP_INIT, NULL);
	run(&o, OP_LOCK, &a);
	run(&y, OP_LOCK, &x);
	if (!k->wait_die) {
		post(&o, OP_LOCK, &x);		/* wounds the younger */
		waiting(&o);
	}
	r = run(&y, OP_LOCK, &a);
	is(r, -EDEADLK, "%s: (set-up: the younger gets -EDEADLK on A)", n);
	run(&y, OP_UNLOCK, &x);
	if (!k->wait_die)
		ok(finish(&o, CMD_S) && result(&o) == 0, "%s: (the older gets X)", n);
	post(&y, OP_SLOW_INTR, &a);
	ok(waiting(&y), "%s: lock_slow_interruptible waits for A", n);
	sent = interrupt(&y);
	ok(!pending(&y), "%s: a signal ends it (%d sent)", n, sent);
	is(result(&y), -EINTR, "%s: ww_mutex_lock_slow_interruptible returns -EINTR", n);
	is(acquired(&y), 0, "%s: holding nothing", n);
	post(&y, OP_SLOW, &a);
	ok(waiting(&y) && survives_signals(&y), "%s: ww_mutex_lock_slow keeps waiting through "
	   "5 signals", n);
	if (!k->wait_die)
		run(&o, OP_UNLOCK, &x);
	run(&o, OP_UNLOCK, &a);
	ok(finish(&y, CMD_S) && acquired(&y) == 1, "%s: and returns holding A once it is free",
	   n);
	run(&y, OP_UNLOCK, &a);
	is(run(&y, OP_LOCK, &a), 0, "%s: (relocking it: 0)", n);
	run(&y, OP_UNLOCK, &a);
	run(&y, OP_FINI, NULL);
	run(&o, OP_FINI, NULL);

	agent_stop(&o);
	agent_stop(&y);
	kipc_ww_mutex_destroy(&a);
	kipc_ww_mutex_destroy(&x);
	signal(SIGUSR1, SIG_DFL);
}

/* ------------------------------------------------------------------------ */
/* Randomized transactions, shared by the thread and the process stress     */
/* ------------------------------------------------------------------------ */

#define NLOCKS 8

struct arena {
	struct kipc_ww_mutex locks[NLOCKS];
	long counter[NLOCKS];		/* plain, under the lock */
	int holder[NLOCKS];		/* plain, under the lock: 0, or who holds it */
};

struct stats {
	long mine[NLOCKS];		/* increments made, per lock */
	long txns;
	int backoffs, errors, bad;
};

/* 2 to 4 random locks in random order, through the back-off loop. */
static void transaction(struct arena *ar, int nlocks, struct kipc_ww_class *cls, int me,
			uint64_t *rs, struct stats *st)
{
	struct kipc_ww_acquire_ctx ctx;
	struct kipc_ww_mutex *set[4];
	bool held[4] = { false, false, false, false };
	int pick[NLOCKS], i, j, n = 2 + (int)(rnd(rs) % 3);
	bool rev;

	for (i = 0; i < nlocks; i++)
		pick[i] = i;
	for (i = 0; i < n; i++) {		/* a partial Fisher-Yates shuffle */
		int t;

		j = i + (int)(rnd(rs) % (uint32_t)(nlocks - i));
		t = pick[i];
		pick[i] = pick[j];
		pick[j] = t;
		set[i] = &ar->locks[pick[i]];
	}
	kipc_ww_acquire_init(&ctx, cls);
	if (acquire_all(&ctx, set, n, held, &st->backoffs, rs) != 0) {
		st->errors++;
		kipc_ww_acquire_fini(&ctx);
		return;
	}
	kipc_ww_acquire_done(&ctx);
	if (ctx.acquired != (unsigned int)n)
		st->bad++;
	for (i = 0; i < n; i++) {
		if (ar->holder[pick[i]] != 0 || !kipc_ww_mutex_is_locked(set[i]))
			st->bad++;
		ar->holder[pick[i]] = me;
	}
	if (rnd(rs) % 16 == 0)
		sched_yield();		/* let the others pile up */
	for (i = 0; i < n; i++) {
		if (ar->holder[pick[i]] != me)
			st->bad++;
		ar->counter[pick[i]]++;
		st->mine[pick[i]]++;
		ar->holder[pick[i]] = 0;
	}
	rev = rnd(rs) % 2;		/* unlock in either order */
	for (i = 0; i < n; i++)
		kipc_ww_mutex_unlock(set[rev ? n - 1 - i : i]);
	kipc_ww_acquire_fini(&ctx);
	st->txns++;
}

/* A plain user: one lock with a NULL context. */
static void plain_op(struct arena *ar, int nlocks, int me, uint64_t *rs, struct stats *st)
{
	int i = (int)(rnd(rs) % (uint32_t)nlocks), r;

	switch (rnd(rs) % 3) {
	case 0:
		r = kipc_ww_mutex_trylock(&ar->locks[i], NULL) ? 0 :
		    kipc_ww_mutex_lock(&ar->locks[i], NULL);
		break;
	case 1:
		r = kipc_ww_mutex_lock_interruptible(&ar->locks[i], NULL);
		break;
	default:
		r = kipc_ww_mutex_lock(&ar->locks[i], NULL);
		break;
	}
	if (r != 0) {
		st->errors++;
		return;
	}
	if (ar->holder[i] != 0)
		st->bad++;
	ar->holder[i] = me;
	ar->counter[i]++;
	st->mine[i]++;
	if (ar->holder[i] != me)
		st->bad++;
	ar->holder[i] = 0;
	kipc_ww_mutex_unlock(&ar->locks[i]);
	st->txns++;
}

/* ------------------------------------------------------------------------ */
/* Stress between threads                                                   */
/* ------------------------------------------------------------------------ */

struct stress {
	struct arena ar;
	struct kipc_ww_class *cls;
	double deadline;
	int go;
};

struct stress_thread {
	struct stress *s;
	pthread_t thread;
	int idx;
	bool plain;
	struct stats st;
};

static void *stress_main(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	uint64_t rs = rnd_init(seed, t->idx);

	while (!__atomic_load_n(&s->go, __ATOMIC_ACQUIRE))
		sched_yield();
	do {
		if (t->plain)
			plain_op(&s->ar, NLOCKS, t->idx + 1, &rs, &t->st);
		else
			transaction(&s->ar, NLOCKS, s->cls, t->idx + 1, &rs, &t->st);
	} while (now() < s->deadline);
	return NULL;
}

static void test_stress(const struct klass *k, int nthreads, double secs)
{
	static char what[64];
	struct stress *s = calloc(1, sizeof(*s));
	struct stress_thread *t = calloc((size_t)nthreads + 1, sizeof(*t));
	long txns = 0, plain = 0, sum[NLOCKS] = { 0 };
	int i, j, backoffs = 0, errors = 0, bad = 0;
	bool exact = true, free_ = true;
	double t0;

	s->cls = k->cls;
	for (i = 0; i < NLOCKS; i++)
		kipc_ww_mutex_init(&s->ar.locks[i], k->cls);
	snprintf(what, sizeof(what), "%s stress, %d threads", k->name, nthreads);
	watchdog(what, 60);
	/* nthreads context users and one plain (NULL context) user */
	for (i = 0; i <= nthreads; i++) {
		t[i].s = s;
		t[i].idx = i;
		t[i].plain = i == nthreads;
		pthread_create(&t[i].thread, NULL, stress_main, &t[i]);
	}
	t0 = now();
	s->deadline = t0 + secs;
	__atomic_store_n(&s->go, 1, __ATOMIC_RELEASE);
	for (i = 0; i <= nthreads; i++) {
		pthread_join(t[i].thread, NULL);
		if (t[i].plain)
			plain += t[i].st.txns;
		else
			txns += t[i].st.txns;
		backoffs += t[i].st.backoffs;
		errors += t[i].st.errors;
		bad += t[i].st.bad;
		for (j = 0; j < NLOCKS; j++)
			sum[j] += t[i].st.mine[j];
	}
	alarm(0);
	diag("%s: %ld transactions, %d back-offs, %ld plain locks in %.2f s", what, txns,
	     backoffs, plain, now() - t0);
	ok(now() - s->deadline < 20.0, "%s: completed, the last transactions %.3f s after the "
	   "deadline (no deadlock)", what, now() - s->deadline);
	is(errors, 0, "%s: no error other than -EDEADLK", what);
	is(bad, 0, "%s: every lock held exclusively (ownership checks)", what);
	for (j = 0; j < NLOCKS; j++) {
		if (s->ar.counter[j] != sum[j]) {
			exact = false;
			diag("lock %d: counter %ld, increments %ld", j, s->ar.counter[j], sum[j]);
		}
		free_ = free_ && !kipc_ww_mutex_is_locked(&s->ar.locks[j]);
	}
	ok(exact, "%s: every per-lock counter is exact", what);
	ok(txns > 0 && plain > 0, "%s: transactions and plain locks were done", what);
	ok(free_, "%s: every lock is free at the end", what);
	for (j = 0; j < NLOCKS; j++)
		kipc_ww_mutex_destroy(&s->ar.locks[j]);
	free(t);
	free(s);
}

/* ------------------------------------------------------------------------ */
/* Between processes: KIPC_PSHARED ww_mutexes in MAP_SHARED memory          */
/* ------------------------------------------------------------------------ */

#define XPROCS 3
#define XLOCKS 6
#define XROUNDS 20

struct xbar {
	int count, gen;
};

struct xshared {
	struct arena ar;		/* XLOCKS of its NLOCKS used */
	struct xbar bar;
	int go;
	double deadline;
	struct stats st[XPROCS];
};

/* A barrier for n processes, polling. */
static void xbarrier(struct xbar *b, int n)
{
	int gen = __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE);

	if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == n) {
		__atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&b->gen, 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) == gen)
		sleep_us(50);
}

static struct xshared *xmap(struct kipc_ww_class *cls)
{
	struct xshared *x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int i;

	if (x == MAP_FAILED)
		return NULL;
	for (i = 0; i < NLOCKS; i++)
		kipc_ww_mutex_init_flags(&x->ar.locks[i], cls, KIPC_PSHARED);
	return x;
}

/* Waits up to secs for the children; kills the late; how many exited 0. */
static int reap(const pid_t *pids, int n, double secs)
{
	double end = now() + secs;
	int i, clean = 0;

	for (i = 0; i < n; i++) {
		int status = -1;

		if (pids[i] <= 0)
			continue;
		for (;;) {
			pid_t r = waitpid(pids[i], &status, WNOHANG);

			if (r == pids[i] || r < 0)
				break;
			if (now() > end) {
				diag("child %d hangs: killing it", (int)pids[i]);
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &status, 0);
				status = -1;
				break;
			}
			sleep_ms(2);
		}
		if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			clean++;
		else
			diag("child %d: status %#x", (int)pids[i], status);
	}
	return clean;
}

static void child_setup(void)
{
	signal(SIGALRM, SIG_DFL);
	alarm(60);		/* a child that hangs dies; the parent sees it */
}

/*
 * Round by round, process 0 takes a context, then process 1 (the younger);
 * each locks its first lock (0 resp. 1), then, once both hold one, the
 * other's through the back-off loop: an ABBA that must resolve.
 */
static void xabba_child(struct xshared *x, struct kipc_ww_class *cls, int idx)
{
	int round;

	child_setup();
	for (round = 0; round < XROUNDS; round++) {
		struct kipc_ww_acquire_ctx ctx;
		struct kipc_ww_mutex *set[2] = { &x->ar.locks[idx], &x->ar.locks[1 - idx] };
		bool held[2] = { false, false };

		xbarrier(&x->bar, 2);
		if (idx == 0)
			kipc_ww_acquire_init(&ctx, cls);
		xbarrier(&x->bar, 2);
		if (idx == 1)
			kipc_ww_acquire_init(&ctx, cls);
		if (kipc_ww_mutex_lock(set[0], &ctx) != 0)
			x->st[idx].errors++;
		held[0] = true;
		xbarrier(&x->bar, 2);
		if (acquire_all(&ctx, set, 2, held, &x->st[idx].backoffs, NULL) != 0) {
			x->st[idx].errors++;
		} else {
			x->ar.counter[0]++;
			x->ar.counter[1]++;
			/*
			 * The second first: the other process, asleep in
			 * lock_slow on our first, must find our second free
			 * when it gets the first, or (wait-die) it dies again.
			 */
			kipc_ww_mutex_unlock(set[1]);
			kipc_ww_mutex_unlock(set[0]);
			x->st[idx].txns++;
		}
		kipc_ww_acquire_fini(&ctx);
	}
	_exit(0);
}

static void test_xproc_abba(const struct klass *k)
{
	struct xshared *x = xmap(k->cls);
	pid_t pids[2];
	int i, clean;

	if (!x) {
		ok(0, "%s cross-process ABBA: mmap: %s", k->name, strerror(errno));
		return;
	}
	fflush(stdout);
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			xabba_child(x, k->cls, i);
		if (pids[i] < 0)
			diag("fork: %s", strerror(errno));
	}
	clean = reap(pids, 2, 60);
	is(clean, 2, "%s cross-process ABBA: both processes finished %d rounds", k->name,
	   XROUNDS);
	is(x->st[0].errors + x->st[1].errors, 0, "%s cross-process ABBA: no error other than "
	   "-EDEADLK", k->name);
	is(x->st[0].txns + x->st[1].txns, 2 * XROUNDS, "%s cross-process ABBA: every "
	   "transaction completed", k->name);
	is(x->st[0].backoffs, 0, "%s cross-process ABBA: the older process never backed off",
	   k->name);
	is(x->st[1].backoffs, XROUNDS, "%s cross-process ABBA: the younger backed off once a "
	   "round", k->name);
	ok(x->ar.counter[0] == 2 * XROUNDS && x->ar.counter[1] == 2 * XROUNDS,
	   "%s cross-process ABBA: exact counters (%ld, %ld)", k->name, x->ar.counter[0],
	   x->ar.counter[1]);
	ok(!kipc_ww_mutex_is_locked(&x->ar.locks[0]) && !kipc_ww_mutex_is_locked(&x->ar.locks[1]),
	   "%s cross-process ABBA: both locks free at the end", k->name);
	munmap(x, sizeof(*x));
}

static void xstress_child(struct xshared *x, struct kipc_ww_class *cls, int idx)
{
	uint64_t rs = rnd_init(seed, 100 + idx);

	child_setup();
	while (!__atomic_load_n(&x->go, __ATOMIC_ACQUIRE))
		sleep_us(100);
	do {
		if (idx == XPROCS - 1 && rnd(&rs) % 4 == 0)
			plain_op(&x->ar, XLOCKS, idx + 1, &rs, &x->st[idx]);
		else
			transaction(&x->ar, XLOCKS, cls, idx + 1, &rs, &x->st[idx]);
	} while (now() < x->deadline);
	_exit(0);
}

static void test_xproc_stress(const struct klass *k, double secs)
{
	struct xshared *x = xmap(k->cls);
	pid_t pids[XPROCS];
	long txns = 0, sum;
	int i, j, clean, backoffs = 0, errors = 0, bad = 0;
	bool exact = true, free_ = true;

	if (!x) {
		ok(0, "%s cross-process stress: mmap: %s", k->name, strerror(errno));
		return;
	}
	fflush(stdout);
	for (i = 0; i < XPROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			xstress_child(x, k->cls, i);
		if (pids[i] < 0)
			diag("fork: %s", strerror(errno));
	}
	x->deadline = now() + secs;
	__atomic_store_n(&x->go, 1, __ATOMIC_RELEASE);
	clean = reap(pids, XPROCS, 60);
	for (i = 0; i < XPROCS; i++) {
		txns += x->st[i].txns;
		backoffs += x->st[i].backoffs;
		errors += x->st[i].errors;
		bad += x->st[i].bad;
	}
	for (j = 0; j < XLOCKS; j++) {
		for (sum = 0, i = 0; i < XPROCS; i++)
			sum += x->st[i].mine[j];
		if (sum != x->ar.counter[j]) {
			exact = false;
			diag("lock %d: counter %ld, increments %ld", j, x->ar.counter[j], sum);
		}
		free_ = free_ && !kipc_ww_mutex_is_locked(&x->ar.locks[j]);
	}
	diag("%s cross-process stress: %ld transactions, %d back-offs by %d processes",
	     k->name, txns, backoffs, XPROCS);
	is(clean, XPROCS, "%s cross-process stress: all %d processes finished", k->name, XPROCS);
	is(errors, 0, "%s cross-process stress: no error other than -EDEADLK", k->name);
	is(bad, 0, "%s cross-process stress: every lock held exclusively", k->name);
	ok(exact && txns > 0, "%s cross-process stress: every per-lock counter is exact",
	   k->name);
	ok(free_, "%s cross-process stress: every lock is free at the end", k->name);
	munmap(x, sizeof(*x));
}

int main(void)
{
	int c;

	seed = tap_seed();

	/* Processes first: no thread exists yet. */
	for (c = 0; c < 2; c++) {
		test_xproc_abba(&classes[c]);
		test_xproc_stress(&classes[c], 0.5);
	}

	watchdog("the scripted tests", 120);
	for (c = 0; c < 2; c++) {
		test_basics(&classes[c]);
		test_abba_scripted(&classes[c], false);
		test_abba_scripted(&classes[c], true);
	}
	test_wait_die();
	test_wound_wait();
	for (c = 0; c < 2; c++) {
		test_interruptible(&classes[c], SA_RESTART);
		test_interruptible(&classes[c], 0);
	}
	alarm(0);

	for (c = 0; c < 2; c++) {
		test_ring(&classes[c], 2, 50);	/* the ABBA, free-running */
		test_ring(&classes[c], 3, 30);
		test_ring(&classes[c], 4, 30);
	}
	for (c = 0; c < 2; c++) {
		test_stress(&classes[c], 4, 0.6);
		test_stress(&classes[c], 8, 0.6);
	}
	return done_testing();
}
