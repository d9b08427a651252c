// SPDX-License-Identifier: MIT
/*
 * <kipc/completion.h>: complete() wakes exactly one waiter, in queue order;
 * a complete() with no waiter is banked (try_wait_for_completion takes it
 * once); complete_all() releases every current waiter and every later one
 * until reinit_completion(); wait_for_completion_timeout returns 0 on
 * timeout, else the jiffies left (at least 1, at most the timeout);
 * _interruptible and _killable return -EINTR when a signal handler ran (with
 * and without SA_RESTART), _interruptible_timeout -EINTR / 0 / the jiffies
 * left; the plain waits keep waiting through signals; completion_done;
 * complete() and complete_all() from a signal handler; KIPC_DECLARE_COMPLETION;
 * a KIPC_PSHARED completion between fork()ed processes; the kernel names of
 * <kipc/linux.h>; a sleeper burns no CPU; cancelled waits neither lose nor
 * duplicate a completion (seeded, time-bounded stress).
 *
 * The cross-process tests run first, before this process has any thread
 * (ThreadSanitizer does not support fork() after threads).
 */
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

#include <kipc/linux.h>

#include "tap.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Waiters queued on the completion's FIFO (tickets out, semaphore.c). */
static unsigned int queued(struct kipc_completion *c)
{
	uint64_t v = __atomic_load_n(&c->wait.state, __ATOMIC_RELAXED);

	return ((uint16_t)(v >> 32) + KIPC__SEM_TICKETS - (uint16_t)(v >> 48)) % KIPC__SEM_TICKETS;
}

/*
 * Waits (up to 10 s) until at least n waiters are queued and task tid of
 * process pid has been asleep for a few polls in a row.
 */
static bool wait_queued(struct kipc_completion *c, unsigned int n, pid_t pid, pid_t tid)
{
	double end = now() + 10.0;
	int streak = 0;

	while (now() < end) {
		if (queued(c) >= n && task_state(pid, tid) == 'S') {
			if (++streak >= 3)
				return true;
		} else {
			streak = 0;
		}
		sleep_ms(2);
	}
	return false;
}

/* Takes every banked completion; returns how many (at most limit). */
static long drain(struct kipc_completion *c, long limit)
{
	long n = 0;

	while (n < limit && kipc_try_wait_for_completion(c))
		n++;
	return n;
}

static int handler_runs;

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_fetch_add(&handler_runs, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------ */
/* Waiter threads                                                           */
/* ------------------------------------------------------------------------ */

enum op { W_WAIT, W_INTR, W_KILL, W_TIMEOUT, W_INTR_TIMEOUT };

static const char *const op_name[] = {
	"wait_for_completion", "wait_for_completion_interruptible",
	"wait_for_completion_killable", "wait_for_completion_timeout",
	"wait_for_completion_interruptible_timeout",
};

struct waiter {
	struct kipc_completion *c;
	enum op op;
	unsigned long timeout;
	pthread_t thread;
	pid_t tid;
	long result;
	int done;
	int order;
	double wall, cpu;
};

static int order_seq;

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	double c0, t0;
	long r = 0;

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	c0 = clock_sec(CLOCK_THREAD_CPUTIME_ID);
	t0 = now();
	switch (w->op) {
	case W_WAIT:
		kipc_wait_for_completion(w->c);
		break;
	case W_INTR:
		r = kipc_wait_for_completion_interruptible(w->c);
		break;
	case W_KILL:
		r = kipc_wait_for_completion_killable(w->c);
		break;
	case W_TIMEOUT:
		r = (long)kipc_wait_for_completion_timeout(w->c, w->timeout);
		break;
	case W_INTR_TIMEOUT:
		r = kipc_wait_for_completion_interruptible_timeout(w->c, w->timeout);
		break;
	}
	w->cpu = clock_sec(CLOCK_THREAD_CPUTIME_ID) - c0;
	w->wall = now() - t0;
	w->result = r;
	w->order = __atomic_add_fetch(&order_seq, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void start_waiter(struct waiter *w, struct kipc_completion *c, enum op op,
			 unsigned long timeout)
{
	memset(w, 0, sizeof(*w));
	w->c = c;
	w->op = op;
	w->timeout = timeout;
	w->result = 12345;
	pthread_create(&w->thread, NULL, waiter_main, w);
	while (!__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE))
		sleep_ms(1);
}

static bool is_done(struct waiter *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

static bool wait_done(struct waiter *w, double secs)
{
	return wait_flag(&w->done, secs);
}

/* A waiter still stuck (a failed test) is completed so that the run goes on. */
static int rescue(struct waiter *w)
{
	int n = 0;

	while (!wait_done(w, n ? 1.0 : 0.0) && n < 5) {
		kipc_complete(w->c);
		n++;
	}
	pthread_join(w->thread, NULL);
	return n;
}

/* The success value of a wait: 0, or for the timed ones the jiffies left. */
static bool success(const struct waiter *w)
{
	if (w->op == W_TIMEOUT || w->op == W_INTR_TIMEOUT)
		return w->result >= 1 && w->result <= (long)w->timeout;
	return w->result == 0;
}

/* ------------------------------------------------------------------------ */
/* Cross-process (before any thread)                                        */
/* ------------------------------------------------------------------------ */

struct xshm {
	struct kipc_completion c, back;
	int got[4];
	long result[4];
};

static struct xshm *xshm_new(void)
{
	struct xshm *x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (x == MAP_FAILED) {
		diag("mmap: %s", strerror(errno));
		return NULL;
	}
	return x;
}

enum { X_WAIT, X_TIMEOUT100 };

static pid_t fork_waiter(struct xshm *x, int idx, int how)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (how == X_WAIT) {
			kipc_wait_for_completion(&x->c);
			x->result[idx] = 0;
		} else {
			x->result[idx] = (long)kipc_wait_for_completion_timeout(&x->c, 100);
		}
		__atomic_store_n(&x->got[idx], 1, __ATOMIC_RELEASE);
		_exit(0);
	}
	return pid;
}

static void test_xproc(void)
{
	struct xshm *x = xshm_new();
	pid_t a, b, c, pid;
	bool qa, qb, first_only;
	unsigned long left;

	if (!x) {
		ok(0, "PSHARED: shared memory");
		return;
	}
	kipc_init_completion_flags(&x->c, KIPC_PSHARED);
	kipc_init_completion_flags(&x->back, KIPC_PSHARED);

	/* complete() wakes one process, in queue order */
	a = fork_waiter(x, 0, X_WAIT);
	qa = wait_queued(&x->c, 1, a, a);
	b = fork_waiter(x, 1, X_WAIT);
	qb = wait_queued(&x->c, 2, b, b);
	ok(qa && qb, "PSHARED: child processes A, B queued in wait_for_completion");
	kipc_complete(&x->c);
	first_only = wait_flag(&x->got[0], 5.0);
	sleep_ms(50);
	first_only = first_only && !__atomic_load_n(&x->got[1], __ATOMIC_ACQUIRE);
	ok(first_only, "PSHARED: complete() released A only");
	ok(reap_child(a, 5.0), "PSHARED: A exited cleanly");

	/* complete_all() releases B, and a later waiter C at once */
	kipc_complete_all(&x->c);
	ok(wait_flag(&x->got[1], 5.0) && reap_child(b, 5.0), "PSHARED: complete_all() released B");
	c = fork_waiter(x, 2, X_WAIT);
	ok(reap_child(c, 5.0) && x->got[2], "PSHARED: after complete_all() a new process's wait "
	   "returns at once");
	kipc_reinit_completion(&x->c);
	c = fork_waiter(x, 3, X_TIMEOUT100);
	ok(reap_child(c, 5.0), "PSHARED: after reinit_completion() a child waits again ...");
	is(x->result[3], 0, "PSHARED: ... and times out: wait_for_completion_timeout(100) == 0");

	/* a child completes what the parent waits for */
	pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		kipc_complete(&x->back);
		_exit(0);
	}
	left = kipc_wait_for_completion_timeout(&x->back, 5000);
	ok(left >= 1 && left <= 4960, "PSHARED: the parent's wait_for_completion_timeout(5000) "
	   "ended by the child's complete(): %lu jiffies left", left);
	ok(reap_child(pid, 5.0), "PSHARED: the completing child exited cleanly");
	ok(!kipc_completion_done(&x->back) && !kipc_completion_done(&x->c),
	   "PSHARED: nothing banked at the end");
	munmap(x, sizeof(*x));
}

/* ------------------------------------------------------------------------ */
/* One thread: banking, try, done, static initialiser                       */
/* ------------------------------------------------------------------------ */

static KIPC_DECLARE_COMPLETION(static_done);

static void test_banked(unsigned int flags)
{
	const char *kind = flags & KIPC_PSHARED ? "PSHARED" : "private";
	struct kipc_completion c;
	unsigned long left;
	long li;
	double t0, dt;

	kipc_init_completion_flags(&c, flags);
	ok(!kipc_completion_done(&c), "%s: a new completion is not done", kind);
	ok(!kipc_try_wait_for_completion(&c), "%s: try_wait_for_completion on it: false", kind);
	kipc_complete(&c);
	ok(kipc_completion_done(&c), "%s: complete() with no waiter is banked: done", kind);
	ok(kipc_try_wait_for_completion(&c), "%s: try_wait_for_completion takes it: true", kind);
	ok(!kipc_try_wait_for_completion(&c), "%s: ... once: then false", kind);
	ok(!kipc_completion_done(&c), "%s: and not done any more", kind);

	kipc_complete(&c);
	kipc_complete(&c);
	kipc_complete(&c);
	t0 = now();
	kipc_wait_for_completion(&c);
	is(kipc_wait_for_completion_interruptible(&c), 0,
	   "%s: three banked: wait_for_completion, then _interruptible returns 0", kind);
	is(kipc_wait_for_completion_killable(&c), 0, "%s: and _killable returns 0", kind);
	dt = now() - t0;
	ok(dt < 1.0, "%s: all three at once (%.2f ms)", kind, dt * 1e3);
	ok(!kipc_completion_done(&c), "%s: none left", kind);

	kipc_complete(&c);
	left = kipc_wait_for_completion_timeout(&c, 100);
	ok(left >= 1 && left <= 100, "%s: banked: wait_for_completion_timeout(100) returns "
	   "the jiffies left at once (%lu)", kind, left);
	kipc_complete(&c);
	li = kipc_wait_for_completion_interruptible_timeout(&c, 100);
	ok(li >= 1 && li <= 100, "%s: banked: _interruptible_timeout(100) returns %ld", kind, li);
	kipc_complete(&c);
	left = kipc_wait_for_completion_timeout(&c, MAX_SCHEDULE_TIMEOUT);
	ok(left >= 1, "%s: banked: wait_for_completion_timeout(MAX_SCHEDULE_TIMEOUT) returns "
	   "non-zero", kind);

	t0 = now();
	left = kipc_wait_for_completion_timeout(&c, 30);
	dt = now() - t0;
	is(left, 0, "%s: nothing banked: wait_for_completion_timeout(30) returns 0", kind);
	ok(dt >= 0.029 && dt < 5.0, "%s: ... after %.1f ms (>= 29)", kind, dt * 1e3);
	t0 = now();
	li = kipc_wait_for_completion_interruptible_timeout(&c, 30);
	dt = now() - t0;
	is(li, 0, "%s: nothing banked: _interruptible_timeout(30) returns 0", kind);
	ok(dt >= 0.029 && dt < 5.0, "%s: ... after %.1f ms (>= 29)", kind, dt * 1e3);
	is(kipc_wait_for_completion_timeout(&c, 0), 0, "%s: wait_for_completion_timeout(0) "
	   "with nothing banked returns 0", kind);
	kipc_complete(&c);
	ok(kipc_try_wait_for_completion(&c), "%s: the timed-out waits took nothing: a later "
	   "complete() is banked", kind);

	ok(!kipc_completion_done(&static_done), "KIPC_DECLARE_COMPLETION: not done");
	ok(!kipc_try_wait_for_completion(&static_done), "KIPC_DECLARE_COMPLETION: try false");
	kipc_complete(&static_done);
	ok(kipc_completion_done(&static_done), "KIPC_DECLARE_COMPLETION: done after complete()");
	kipc_wait_for_completion(&static_done);
	ok(!kipc_completion_done(&static_done), "KIPC_DECLARE_COMPLETION: consumed by a wait");
}

/* Kernel code, with the kernel's names. */
struct kreq {
	int id;
	struct completion done;
};

static DECLARE_COMPLETION(kernel_done);

static void test_kernel_names(void)
{
	DECLARE_COMPLETION(on_stack);
	struct completion init = COMPLETION_INITIALIZER(init);
	struct kreq r;

	r.id = 7;
	init_completion(&r.done);
	ok(!completion_done(&r.done), "kernel names: init_completion, completion_done false");
	complete(&r.done);
	ok(completion_done(&r.done), "kernel names: complete, completion_done true");
	wait_for_completion(&r.done);
	ok(!try_wait_for_completion(&r.done), "kernel names: wait_for_completion consumed it");
	is(wait_for_completion_timeout(&r.done, msecs_to_jiffies(10)), 0,
	   "kernel names: wait_for_completion_timeout(msecs_to_jiffies(10)) times out: 0");
	complete_all(&r.done);
	is(wait_for_completion_interruptible(&r.done), 0,
	   "kernel names: complete_all, wait_for_completion_interruptible 0");
	is(wait_for_completion_killable(&r.done), 0, "kernel names: wait_for_completion_killable 0");
	ok(wait_for_completion_interruptible_timeout(&r.done, HZ) > 0,
	   "kernel names: wait_for_completion_interruptible_timeout(HZ) > 0");
	reinit_completion(&r.done);
	ok(!try_wait_for_completion(&r.done), "kernel names: reinit_completion");
	init_completion_flags(&r.done, KIPC_PSHARED);
	ok(!completion_done(&r.done), "kernel names: init_completion_flags(KIPC_PSHARED)");
	complete(&kernel_done);
	ok(try_wait_for_completion(&kernel_done), "kernel names: DECLARE_COMPLETION at file scope");
	complete(&on_stack);
	ok(try_wait_for_completion(&on_stack), "kernel names: DECLARE_COMPLETION on the stack");
	ok(!completion_done(&init), "kernel names: COMPLETION_INITIALIZER");
	is(r.id, 7, "kernel names: struct completion inside a struct");
}

/* ------------------------------------------------------------------------ */
/* complete() wakes one waiter, in queue order                              */
/* ------------------------------------------------------------------------ */

static void test_complete_one(unsigned int flags)
{
	const char *kind = flags & KIPC_PSHARED ? "PSHARED" : "private";
	static const char *const names[3] = { "A", "B", "C" };
	static const enum op ops[3] = { W_WAIT, W_TIMEOUT, W_INTR };
	struct kipc_completion c;
	struct waiter w[3];
	bool all_queued = true;
	int i, j;

	kipc_init_completion_flags(&c, flags);
	for (i = 0; i < 3; i++) {
		start_waiter(&w[i], &c, ops[i], 20000);
		if (!wait_queued(&c, (unsigned int)i + 1, getpid(), w[i].tid))
			all_queued = false;
	}
	ok(all_queued, "complete %s: A (wait), B (timeout), C (interruptible) queued in order",
	   kind);
	for (i = 0; i < 3; i++) {
		bool others = false;

		kipc_complete(&c);
		ok(wait_done(&w[i], 5.0), "complete %s: complete() #%d released %s", kind,
		   i + 1, names[i]);
		sleep_ms(50);
		for (j = i + 1; j < 3; j++)
			others |= is_done(&w[j]);
		ok(!others, "complete %s: ... and only %s", kind, names[i]);
	}
	for (i = 0; i < 3; i++)
		rescue(&w[i]);
	ok(w[0].order < w[1].order && w[1].order < w[2].order,
	   "complete %s: released in queue order A, B, C", kind);
	ok(success(&w[0]) && success(&w[1]) && success(&w[2]),
	   "complete %s: each wait reported success (B had %ld jiffies left)", kind, w[1].result);
	ok(w[1].result <= 20000 - 40, "complete %s: B's jiffies left account for its wait", kind);
	ok(!kipc_completion_done(&c) && !kipc_try_wait_for_completion(&c),
	   "complete %s: nothing banked at the end", kind);
}

/* ------------------------------------------------------------------------ */
/* complete_all                                                             */
/* ------------------------------------------------------------------------ */

static void test_complete_all(unsigned int flags)
{
	const char *kind = flags & KIPC_PSHARED ? "PSHARED" : "private";
	struct kipc_completion c;
	struct waiter w[5], late;
	bool all_queued = true, all_done = true, all_ok = true;
	unsigned long left;
	double t0, dt;
	int i;

	kipc_init_completion_flags(&c, flags);
	for (i = 0; i < 5; i++) {
		start_waiter(&w[i], &c, (enum op)i, 20000);
		if (!wait_queued(&c, (unsigned int)i + 1, getpid(), w[i].tid))
			all_queued = false;
	}
	ok(all_queued, "complete_all %s: 5 waiters queued (one of each kind)", kind);
	kipc_complete_all(&c);
	for (i = 0; i < 5; i++)
		all_done &= wait_done(&w[i], 5.0);
	ok(all_done, "complete_all %s: released all 5", kind);
	for (i = 0; i < 5; i++) {
		rescue(&w[i]);
		if (!success(&w[i])) {
			all_ok = false;
			diag("%s returned %ld", op_name[i], w[i].result);
		}
	}
	ok(all_ok, "complete_all %s: each returned success", kind);

	/* and every later waiter, until reinit_completion */
	ok(kipc_completion_done(&c), "complete_all %s: completion_done", kind);
	t0 = now();
	kipc_wait_for_completion(&c);
	kipc_wait_for_completion(&c);
	is(kipc_wait_for_completion_interruptible(&c), 0,
	   "complete_all %s: later waits return at once (interruptible 0)", kind);
	left = kipc_wait_for_completion_timeout(&c, 1000);
	dt = now() - t0;
	ok(left >= 1 && left <= 1000, "complete_all %s: later wait_for_completion_timeout(1000) "
	   "returns %lu", kind, left);
	ok(dt < 0.5, "complete_all %s: all at once (%.2f ms)", kind, dt * 1e3);
	ok(kipc_try_wait_for_completion(&c) && kipc_try_wait_for_completion(&c),
	   "complete_all %s: try_wait_for_completion true, and true again", kind);
	kipc_complete(&c);
	ok(kipc_completion_done(&c), "complete_all %s: a complete() after it changes nothing", kind);

	kipc_reinit_completion(&c);
	ok(!kipc_completion_done(&c), "reinit %s: not done", kind);
	ok(!kipc_try_wait_for_completion(&c), "reinit %s: try_wait_for_completion false", kind);
	is(kipc_wait_for_completion_timeout(&c, 20), 0, "reinit %s: a wait times out again",
	   kind);
	start_waiter(&late, &c, W_WAIT, 0);
	ok(wait_queued(&c, 1, getpid(), late.tid), "reinit %s: a new waiter blocks", kind);
	ok(!is_done(&late), "reinit %s: ... and stays blocked", kind);
	kipc_complete(&c);
	ok(wait_done(&late, 5.0), "reinit %s: until complete()", kind);
	rescue(&late);
	ok(!kipc_try_wait_for_completion(&c), "reinit %s: which it consumed", kind);

	/* complete_all with nobody waiting, then reinit */
	kipc_complete_all(&c);
	ok(kipc_try_wait_for_completion(&c), "complete_all %s with no waiter: try true", kind);
	kipc_reinit_completion(&c);
	ok(!kipc_completion_done(&c), "complete_all %s with no waiter, reinit: not done", kind);
}

/* ------------------------------------------------------------------------ */
/* Timeouts with a waiter                                                   */
/* ------------------------------------------------------------------------ */

static void test_timeouts(void)
{
	struct kipc_completion c;
	struct waiter w;
	int op;

	kipc_init_completion(&c);
	for (op = W_TIMEOUT; op <= W_INTR_TIMEOUT; op++) {
		start_waiter(&w, &c, (enum op)op, 50);
		wait_done(&w, 10.0);
		rescue(&w);
		is(w.result, 0, "%s(50) with no complete(): 0", op_name[op]);
		ok(w.wall >= 0.049 && w.wall < 5.0, "... after %.1f ms (>= 49)", w.wall * 1e3);

		start_waiter(&w, &c, (enum op)op, 2000);
		ok(wait_queued(&c, 1, getpid(), w.tid), "%s(2000) queued", op_name[op]);
		sleep_ms(50);
		kipc_complete(&c);
		ok(wait_done(&w, 5.0), "... released by complete()");
		rescue(&w);
		ok(w.result >= 1 && w.result <= 2000 - 40,
		   "... returned the jiffies left: %ld (>= 1, <= 1960)", w.result);
		ok(w.result >= 2000 - (long)(w.wall * 1000) - 1,
		   "... no fewer than 2000 - the %.1f ms it waited", w.wall * 1e3);
		ok(!kipc_try_wait_for_completion(&c), "... and consumed the completion");
	}
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */
/* ------------------------------------------------------------------------ */

static void test_interruptible(enum op op, unsigned int flags, int saflags)
{
	const char *what = saflags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART";
	const char *kind = flags & KIPC_PSHARED ? "PSHARED" : "private";
	struct kipc_completion c;
	struct waiter w;
	bool asleep, done;
	int rescued;

	set_handler(SIGUSR1, on_usr1, saflags);
	__atomic_store_n(&handler_runs, 0, __ATOMIC_RELAXED);
	kipc_init_completion_flags(&c, flags);
	start_waiter(&w, &c, op, 20000);
	asleep = wait_queued(&c, 1, getpid(), w.tid);
	pthread_kill(w.thread, SIGUSR1);
	done = wait_done(&w, 2.0);
	rescued = rescue(&w);
	ok(asleep, "%s %s, %s: the waiter went to sleep", op_name[op], kind, what);
	ok(done, "%s %s, %s: one signal ended the wait within 2 s", op_name[op], kind, what);
	is(w.result, -EINTR, "%s %s, %s: returned -EINTR", op_name[op], kind, what);
	ok(__atomic_load_n(&handler_runs, __ATOMIC_RELAXED) >= 1,
	   "%s %s, %s: the handler ran", op_name[op], kind, what);
	if (!rescued) {
		kipc_complete(&c);
		ok(kipc_try_wait_for_completion(&c), "%s %s, %s: the interrupted waiter took "
		   "nothing: the next complete() is banked", op_name[op], kind, what);
	} else {
		ok(0, "%s %s, %s: the interrupted waiter took nothing (needed %d rescues)",
		   op_name[op], kind, what, rescued);
	}
	ok(!kipc_completion_done(&c), "%s %s, %s: nothing left", op_name[op], kind, what);
}

static void test_uninterruptible(enum op op, int saflags)
{
	const char *what = saflags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART";
	struct kipc_completion c;
	struct waiter w;
	bool asleep, early;
	int i;

	set_handler(SIGUSR1, on_usr1, saflags);
	__atomic_store_n(&handler_runs, 0, __ATOMIC_RELAXED);
	kipc_init_completion(&c);
	start_waiter(&w, &c, op, 5000);
	asleep = wait_queued(&c, 1, getpid(), w.tid);
	for (i = 0; i < 5; i++) {
		pthread_kill(w.thread, SIGUSR1);
		sleep_ms(20);
	}
	sleep_ms(50);
	early = is_done(&w);
	kipc_complete(&c);
	wait_done(&w, 5.0);
	pthread_join(w.thread, NULL);
	ok(asleep, "%s, %s: the waiter went to sleep", op_name[op], what);
	ok(!early, "%s, %s: kept waiting through 5 signals", op_name[op], what);
	ok(success(&w), "%s, %s: returned success after complete() (%ld)", op_name[op], what,
	   w.result);
	ok(__atomic_load_n(&handler_runs, __ATOMIC_RELAXED) >= 1,
	   "%s, %s: the handler ran (%d times)", op_name[op], what,
	   __atomic_load_n(&handler_runs, __ATOMIC_RELAXED));
}

/* ------------------------------------------------------------------------ */
/* complete() / complete_all() from a signal handler                        */
/* ------------------------------------------------------------------------ */

static struct kipc_completion *handler_c;
static int handler_all;
static int complete_handler_runs;

static void on_usr2_complete(int sig)
{
	(void)sig;
	if (handler_all)
		kipc_complete_all(handler_c);
	else
		kipc_complete(handler_c);
	__atomic_fetch_add(&complete_handler_runs, 1, __ATOMIC_RELAXED);
}

struct kicker {
	struct kipc_completion *c;
	unsigned int nqueued;
	bool on_waiter;
	pthread_t target;
	pid_t target_tid;
	int main_returned;
	int queued_ok;
	int rescued;
};

static void *kicker_main(void *arg)
{
	struct kicker *k = arg;

	k->queued_ok = wait_queued(k->c, k->nqueued, getpid(), k->target_tid);
	if (k->on_waiter)
		pthread_kill(k->target, SIGUSR2);
	else
		pthread_kill(pthread_self(), SIGUSR2);
	if (!wait_flag(&k->main_returned, 5.0)) {
		k->rescued = 1;
		kipc_complete_all(k->c);
	}
	return NULL;
}

/*
 * The main thread sleeps in wait_for_completion; a SIGUSR2 handler
 * completes, on a helper thread or on the waiting thread itself.  With all,
 * two more waiter threads wait too and the handler calls complete_all().
 */
static void test_from_handler(bool all, bool on_waiter, int saflags)
{
	const char *what = saflags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART";
	const char *where = on_waiter ? "on the waiting thread" : "on another thread";
	const char *fn = all ? "complete_all()" : "complete()";
	struct kipc_completion c;
	struct waiter w[2];
	struct kicker k;
	pthread_t th;
	bool others = true;
	int i, n = all ? 2 : 0;
	double t0, dt;

	if (on_waiter && (saflags & SA_RESTART) && UNDER_TSAN) {
		/*
		 * TSan runs a handler only when the thread leaves the syscall,
		 * and the kernel restarts the futex wait after SA_RESTART.
		 */
		ok(1, "# SKIP %s from a handler %s, %s: TSan defers the handler", fn, where, what);
		ok(1, "# SKIP (TSan)");
		ok(1, "# SKIP (TSan)");
		if (all)
			ok(1, "# SKIP (TSan)");
		return;
	}
	set_handler(SIGUSR2, on_usr2_complete, saflags);
	__atomic_store_n(&complete_handler_runs, 0, __ATOMIC_RELAXED);
	kipc_init_completion(&c);
	handler_c = &c;
	handler_all = all;
	for (i = 0; i < n; i++) {
		start_waiter(&w[i], &c, W_WAIT, 0);
		wait_queued(&c, (unsigned int)i + 1, getpid(), w[i].tid);
	}
	memset(&k, 0, sizeof(k));
	k.c = &c;
	k.nqueued = (unsigned int)n + 1;
	k.on_waiter = on_waiter;
	k.target = pthread_self();
	k.target_tid = gettid();
	pthread_create(&th, NULL, kicker_main, &k);
	t0 = now();
	kipc_wait_for_completion(&c);
	dt = now() - t0;
	__atomic_store_n(&k.main_returned, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	for (i = 0; i < n; i++) {
		others &= wait_done(&w[i], 5.0);
		rescue(&w[i]);
	}
	ok(k.queued_ok && !k.rescued, "%s from a handler %s, %s: the sleeping main thread was "
	   "released by it (%.1f ms)", fn, where, what, dt * 1e3);
	if (all)
		ok(others, "%s from a handler %s, %s: so were the 2 other waiters", fn, where, what);
	is(__atomic_load_n(&complete_handler_runs, __ATOMIC_RELAXED), 1,
	   "%s from a handler %s, %s: the handler ran once", fn, where, what);
	if (all)
		ok(kipc_completion_done(&c), "%s from a handler %s, %s: done for good", fn,
		   where, what);
	else
		ok(!kipc_completion_done(&c), "%s from a handler %s, %s: consumed once", fn,
		   where, what);
}

/* ------------------------------------------------------------------------ */
/* A sleeper burns no CPU                                                   */
/* ------------------------------------------------------------------------ */

static void test_sleeper_cpu(unsigned int flags)
{
	const char *kind = flags & KIPC_PSHARED ? "PSHARED" : "private";
	struct kipc_completion c;
	struct waiter w;

	kipc_init_completion_flags(&c, flags);
	start_waiter(&w, &c, W_WAIT, 0);
	sleep_ms(300);
	kipc_complete(&c);
	wait_done(&w, 5.0);
	rescue(&w);
	ok(w.wall >= 0.29, "sleeper %s: waited in wait_for_completion %.0f ms", kind,
	   w.wall * 1e3);
	ok(w.cpu < 0.05, "sleeper %s: and used %.2f ms of CPU meanwhile (< 50)", kind,
	   w.cpu * 1e3);
}

/* ------------------------------------------------------------------------ */
/* Stress: cancelled waits neither lose nor duplicate completions           */
/* ------------------------------------------------------------------------ */

struct stress {
	struct kipc_completion c;
	int stop;
};

struct stressor {
	struct stress *st;
	int completer;
	pthread_t thread;
	uint64_t rng;
	int done;
	long completes, consumed, timeouts, eintrs, bad;
};

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void *stressor_main(void *arg)
{
	struct stressor *t = arg;
	struct kipc_completion *c = &t->st->c;

	while (!__atomic_load_n(&t->st->stop, __ATOMIC_RELAXED)) {
		uint64_t r = rnd(&t->rng);
		long ret;

		if (t->completer) {
			kipc_complete(c);
			t->completes++;
			sleep_us((long)((r >> 8) % 300));
			continue;
		}
		switch (r % 8) {
		case 0:
			if (kipc_try_wait_for_completion(c))
				t->consumed++;
			continue;
		case 1:
		case 2:
			ret = kipc_wait_for_completion_interruptible(c);
			if (ret == 0)
				t->consumed++;
			else if (ret == -EINTR)
				t->eintrs++;
			else
				t->bad++;
			continue;
		case 3:
			ret = kipc_wait_for_completion_interruptible_timeout(c, (r >> 8) % 3);
			break;
		default:
			ret = (long)kipc_wait_for_completion_timeout(c, (r >> 8) % 3);
			break;
		}
		if (ret > 0)
			t->consumed++;
		else if (ret == 0)
			t->timeouts++;
		else if (ret == -EINTR)
			t->eintrs++;
		else
			t->bad++;
	}
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_stress(unsigned long seed)
{
	enum { NWAIT = 5, NCOMPLETE = 2, N = NWAIT + NCOMPLETE };
	static struct stressor t[N];
	struct stress st;
	long completes = 0, consumed = 0, timeouts = 0, eintrs = 0, bad = 0, left;
	uint64_t rng = seed * 2654435761u + 1;
	int i, signals = 0;
	double end;

	memset(&st, 0, sizeof(st));
	kipc_init_completion(&st.c);
	set_handler(SIGUSR1, on_usr1, (seed & 1) ? SA_RESTART : 0);
	for (i = 0; i < N; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].st = &st;
		t[i].completer = i >= NWAIT;
		t[i].rng = seed * 7919 + (uint64_t)i * 104729 + 1;
		pthread_create(&t[i].thread, NULL, stressor_main, &t[i]);
	}
	end = now() + 1.0;
	while (now() < end) {
		pthread_kill(t[rnd(&rng) % NWAIT].thread, SIGUSR1);
		signals++;
		sleep_us((long)(rnd(&rng) % 400));
	}
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELAXED);
	end = now() + 20.0;
	for (i = 0; i < N; i++) {
		while (!__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE) && now() < end) {
			pthread_kill(t[i].thread, SIGUSR1);
			sleep_ms(1);
		}
	}
	for (i = 0; i < N; i++) {
		while (!__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE)) {
			kipc_complete(&st.c);	/* stuck: free it, and fail below */
			completes++;
			bad++;
			sleep_ms(1);
		}
		pthread_join(t[i].thread, NULL);
		completes += t[i].completes;
		consumed += t[i].consumed;
		timeouts += t[i].timeouts;
		eintrs += t[i].eintrs;
		bad += t[i].bad;
	}
	left = drain(&st.c, completes + 10);
	diag("stress: %d threads, 1 s: %ld complete()s, %ld consumed, %ld timeouts, %ld -EINTR, "
	     "%d signals, %ld banked at the end", N, completes, consumed, timeouts, eintrs,
	     signals, left);
	is(bad, 0, "stress: no unexpected return value, no thread stuck");
	is(completes - consumed, left, "stress: complete()s - successful waits == banked (%ld)",
	   left);
	ok(timeouts > 0 && eintrs > 0, "stress: waits were cancelled by timeouts (%ld) and by "
	   "signals (%ld)", timeouts, eintrs);
	kipc_complete(&st.c);
	is(drain(&st.c, 10), 1, "stress: afterwards one complete() banks exactly one");
}

/* ------------------------------------------------------------------------ */

int main(void)
{
	unsigned long seed;

	setvbuf(stdout, NULL, _IONBF, 0);	/* nothing buffered for fork() to copy */
	seed = tap_seed();
	alarm(120);	/* a hang ends the run (SIGALRM) rather than the runner's timeout */

	test_xproc();		/* before any thread exists */

	test_banked(0);
	test_banked(KIPC_PSHARED);
	test_kernel_names();
	test_complete_one(0);
	test_complete_one(KIPC_PSHARED);
	test_complete_all(0);
	test_complete_all(KIPC_PSHARED);
	test_timeouts();

	test_interruptible(W_INTR, 0, 0);
	test_interruptible(W_INTR, 0, SA_RESTART);
	test_interruptible(W_INTR, KIPC_PSHARED, 0);
	test_interruptible(W_INTR, KIPC_PSHARED, SA_RESTART);
	test_interruptible(W_KILL, 0, SA_RESTART);
	test_interruptible(W_INTR_TIMEOUT, 0, 0);
	test_interruptible(W_INTR_TIMEOUT, 0, SA_RESTART);
	test_uninterruptible(W_WAIT, 0);
	test_uninterruptible(W_WAIT, SA_RESTART);
	test_uninterruptible(W_TIMEOUT, 0);

	test_from_handler(false, false, 0);
	test_from_handler(false, false, SA_RESTART);
	test_from_handler(false, true, 0);
	test_from_handler(false, true, SA_RESTART);
	test_from_handler(true, false, 0);
	test_from_handler(true, true, 0);

	test_sleeper_cpu(0);
	test_sleeper_cpu(KIPC_PSHARED);
	test_stress(seed);
	return done_testing();
}
