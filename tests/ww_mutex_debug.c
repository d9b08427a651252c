// SPDX-License-Identifier: MIT
/*
 * The ww_mutex's KIPC_DEBUG checks (this program and the library it links,
 * build/libkipc-debug.a, are built with -DKIPC_DEBUG): locking after
 * ww_acquire_done (lock, lock_interruptible, trylock), ww_acquire_fini with
 * locks still held, a context of one class on a lock of another (in-process
 * locks; lock, lock_interruptible, trylock; two classes of one kind and a
 * wait-die context on a wound-wait lock), unlocking a lock not held (never
 * locked, twice, held by another thread, held by another process), and
 * ww_mutex_lock_slow misused (on a lock that did not return -EDEADLK,
 * with locks still held).  Each misuse runs in a fork()ed child, whose
 * stderr goes to a pipe: it must die of SIGABRT after a message naming the
 * misuse.  Correct use, in both classes, contended by threads (the ABBA
 * back-off with lock_slow, -EALREADY, trylock, NULL contexts, shared locks
 * between processes), must not abort nor complain.
 *
 * Every fork() happens before this process creates a thread; children may
 * create their own.
 */
#include <kipc/ww_mutex.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

#define MSG_DONE     "after ww_acquire_done"
#define MSG_FINI     "ww_acquire_fini with locks still held"
#define MSG_CLASS    "of another class"
#define MSG_UNLOCKED "unlock of an unlocked"
#define MSG_NONOWNER "does not own"
#define MSG_SLOW     "ww_mutex_lock_slow"

static KIPC_DEFINE_WW_CLASS(ww_a);
static KIPC_DEFINE_WW_CLASS(ww_b);
static KIPC_DEFINE_WD_CLASS(wd_a);

static struct kipc_ww_mutex *shared;	/* MAP_SHARED, KIPC_PSHARED */

/* One misuse: the child must abort, saying so. */
static void expect_abort(void (*fn)(void), const char *msg, const char *what)
{
	struct outcome o;

	run_child(fn, &o, 20);
	ok(aborted(&o), "%s: the child died of SIGABRT (status %#x)", what, o.status);
	ok(strstr(o.err, "kipc: ") && strstr(o.err, msg), "%s: with a message naming it (\"%s\")",
	   what, msg);
	if (!strstr(o.err, msg))
		diag("stderr was: %s", o.err);
}

/* ---- the misuses ---- */

static void lock_after_done(void)
{
	struct kipc_ww_mutex a, b;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &ww_a);
	kipc_ww_mutex_init(&b, &ww_a);
	kipc_ww_acquire_init(&ctx, &ww_a);
	if (kipc_ww_mutex_lock(&a, &ctx) != 0)
		_exit(2);
	kipc_ww_acquire_done(&ctx);
	kipc_ww_mutex_lock(&b, &ctx);
}

static void lock_interruptible_after_done(void)
{
	struct kipc_ww_mutex a;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &wd_a);
	kipc_ww_acquire_init(&ctx, &wd_a);
	kipc_ww_acquire_done(&ctx);
	kipc_ww_mutex_lock_interruptible(&a, &ctx);
}

static void trylock_after_done(void)
{
	struct kipc_ww_mutex a;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &ww_a);
	kipc_ww_acquire_init(&ctx, &ww_a);
	kipc_ww_acquire_done(&ctx);
	kipc_ww_mutex_trylock(&a, &ctx);
}

static void fini_with_locks_held(void)
{
	struct kipc_ww_mutex a, b;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &wd_a);
	kipc_ww_mutex_init(&b, &wd_a);
	kipc_ww_acquire_init(&ctx, &wd_a);
	if (kipc_ww_mutex_lock(&a, &ctx) != 0 || kipc_ww_mutex_lock(&b, &ctx) != 0)
		_exit(2);
	kipc_ww_mutex_unlock(&b);
	kipc_ww_acquire_done(&ctx);
	kipc_ww_acquire_fini(&ctx);	/* a is still held */
}

static void fini_with_trylocked_held(void)
{
	struct kipc_ww_mutex a;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &ww_a);
	kipc_ww_acquire_init(&ctx, &ww_a);
	if (kipc_ww_mutex_trylock(&a, &ctx) != 1)
		_exit(2);
	kipc_ww_acquire_fini(&ctx);
}

static void lock_other_class(void)
{
	struct kipc_ww_mutex a;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &ww_b);
	kipc_ww_acquire_init(&ctx, &ww_a);
	kipc_ww_mutex_lock(&a, &ctx);
}

static void lock_interruptible_other_class(void)
{
	struct kipc_ww_mutex a;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &ww_a);
	kipc_ww_acquire_init(&ctx, &wd_a);	/* wait-die context, wound-wait lock */
	kipc_ww_mutex_lock_interruptible(&a, &ctx);
}

static void second_lock_other_class(void)
{
	struct kipc_ww_mutex a, b;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &wd_a);
	kipc_ww_mutex_init(&b, &ww_a);
	kipc_ww_acquire_init(&ctx, &wd_a);
	if (kipc_ww_mutex_lock(&a, &ctx) != 0)
		_exit(2);
	kipc_ww_mutex_lock(&b, &ctx);
}

static void trylock_other_class(void)
{
	struct kipc_ww_mutex a;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &ww_b);
	kipc_ww_acquire_init(&ctx, &ww_a);
	kipc_ww_mutex_trylock(&a, &ctx);
}

static void unlock_never_locked(void)
{
	struct kipc_ww_mutex a;

	kipc_ww_mutex_init(&a, &ww_a);
	kipc_ww_mutex_unlock(&a);
}

static void double_unlock(void)
{
	struct kipc_ww_mutex a;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &wd_a);
	kipc_ww_acquire_init(&ctx, &wd_a);
	if (kipc_ww_mutex_lock(&a, &ctx) != 0)
		_exit(2);
	kipc_ww_mutex_unlock(&a);
	kipc_ww_mutex_unlock(&a);
}

static void double_unlock_plain(void)
{
	struct kipc_ww_mutex a;

	kipc_ww_mutex_init(&a, &ww_a);
	if (kipc_ww_mutex_lock(&a, NULL) != 0)
		_exit(2);
	kipc_ww_mutex_unlock(&a);
	kipc_ww_mutex_unlock(&a);
}

/* Another thread locks with its context and keeps it (and the context). */
static struct kipc_ww_mutex thread_held;
static struct kipc_ww_acquire_ctx thread_ctx;
static pthread_mutex_t go_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER;
static int locked_flag;

static void *lock_and_stay(void *arg)
{
	(void)arg;
	kipc_ww_acquire_init(&thread_ctx, &ww_a);
	if (kipc_ww_mutex_lock(&thread_held, &thread_ctx) != 0)
		_exit(2);
	pthread_mutex_lock(&go_mu);
	locked_flag = 1;
	pthread_cond_broadcast(&go_cv);
	pthread_mutex_unlock(&go_mu);
	pause();			/* holds it until the process ends */
	return NULL;
}

static void unlock_other_thread(void)
{
	pthread_t th;

	kipc_ww_mutex_init(&thread_held, &ww_a);
	pthread_create(&th, NULL, lock_and_stay, NULL);
	pthread_mutex_lock(&go_mu);
	while (!locked_flag)
		pthread_cond_wait(&go_cv, &go_mu);
	pthread_mutex_unlock(&go_mu);
	kipc_ww_mutex_unlock(&thread_held);	/* held by the other thread */
}

static void unlock_other_process(void)
{
	kipc_ww_mutex_unlock(shared);		/* held by the parent */
}

static void slow_without_deadlk(void)
{
	struct kipc_ww_mutex a;
	struct kipc_ww_acquire_ctx ctx;

	kipc_ww_mutex_init(&a, &ww_a);
	kipc_ww_acquire_init(&ctx, &ww_a);
	kipc_ww_mutex_lock_slow(&a, &ctx);
}

/* The younger gets -EDEADLK on a (wait-die), then lock_slow without unlocking. */
static void slow_with_locks_held(void)
{
	struct kipc_ww_mutex a, x;
	struct kipc_ww_acquire_ctx older, younger;

	kipc_ww_mutex_init(&a, &wd_a);
	kipc_ww_mutex_init(&x, &wd_a);
	kipc_ww_acquire_init(&older, &wd_a);
	kipc_ww_acquire_init(&younger, &wd_a);
	if (kipc_ww_mutex_lock(&a, &older) != 0 || kipc_ww_mutex_lock(&x, &younger) != 0)
		_exit(2);
	/* a is held by the older context (of the same thread): the younger dies */
	if (kipc_ww_mutex_lock(&a, &younger) != -EDEADLK)
		_exit(3);
	kipc_ww_mutex_lock_slow(&a, &younger);	/* x still held */
}

/* ---- correct use ---- */

struct abba {
	struct kipc_ww_class *cls;
	struct kipc_ww_mutex a, b;
	long counter;			/* plain, under both */
	pthread_barrier_t bar;
	int bad;
};

struct abba_thread {
	struct abba *ab;
	pthread_t thread;
	int idx;
};

/*
 * The documented loop on {first, second} with the first held, the second
 * contended; with the slow form chosen by round.
 */
static int lock_second(struct kipc_ww_acquire_ctx *ctx, struct kipc_ww_mutex *first,
		       struct kipc_ww_mutex *second, int round)
{
	int r = round % 2 ? kipc_ww_mutex_lock_interruptible(second, ctx) :
			    kipc_ww_mutex_lock(second, ctx);

	if (r == 0)
		return 0;
	if (r != -EDEADLK)
		return 1;
	kipc_ww_mutex_unlock(first);
	if (round % 3) {
		kipc_ww_mutex_lock_slow(second, ctx);
	} else if (kipc_ww_mutex_lock_slow_interruptible(second, ctx) != 0) {
		return 1;
	}
	/* the first is no longer contended by the older: plain lock or trylock */
	if (round % 4 == 0 && kipc_ww_mutex_trylock(first, ctx))
		return 0;
	return kipc_ww_mutex_lock(first, ctx) != 0;
}

static void *abba_main(void *arg)
{
	struct abba_thread *t = arg;
	struct abba *ab = t->ab;
	struct kipc_ww_mutex *first = t->idx ? &ab->b : &ab->a;
	struct kipc_ww_mutex *second = t->idx ? &ab->a : &ab->b;
	int round;

	for (round = 0; round < 50; round++) {
		struct kipc_ww_acquire_ctx ctx;

		if (t->idx == 0)
			kipc_ww_acquire_init(&ctx, ab->cls);
		pthread_barrier_wait(&ab->bar);
		if (t->idx == 1)
			kipc_ww_acquire_init(&ctx, ab->cls);
		if (kipc_ww_mutex_lock(first, &ctx) != 0)
			__atomic_fetch_add(&ab->bad, 1, __ATOMIC_RELAXED);
		if (kipc_ww_mutex_lock(first, &ctx) != -EALREADY)
			__atomic_fetch_add(&ab->bad, 1, __ATOMIC_RELAXED);
		pthread_barrier_wait(&ab->bar);
		if (lock_second(&ctx, first, second, round) != 0) {
			__atomic_fetch_add(&ab->bad, 1, __ATOMIC_RELAXED);
			break;
		}
		kipc_ww_acquire_done(&ctx);
		ab->counter++;
		kipc_ww_mutex_unlock(second);
		kipc_ww_mutex_unlock(first);
		kipc_ww_acquire_fini(&ctx);
		pthread_barrier_wait(&ab->bar);
	}
	return NULL;
}

static int abba(struct kipc_ww_class *cls)
{
	struct abba ab;
	struct abba_thread t[2];
	int i;

	memset(&ab, 0, sizeof(ab));
	ab.cls = cls;
	kipc_ww_mutex_init(&ab.a, cls);
	kipc_ww_mutex_init(&ab.b, cls);
	pthread_barrier_init(&ab.bar, NULL, 2);
	for (i = 0; i < 2; i++) {
		t[i].ab = &ab;
		t[i].idx = i;
		pthread_create(&t[i].thread, NULL, abba_main, &t[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i].thread, NULL);
	pthread_barrier_destroy(&ab.bar);
	ab.bad += ab.counter != 100;
	ab.bad += kipc_ww_mutex_is_locked(&ab.a) || kipc_ww_mutex_is_locked(&ab.b);
	kipc_ww_mutex_destroy(&ab.a);
	kipc_ww_mutex_destroy(&ab.b);
	return ab.bad;
}

/* Everything a correct program does; returns 0 if all went as expected. */
static int correct_use(void)
{
	struct kipc_ww_mutex a, b, s;
	struct kipc_ww_acquire_ctx ctx, ctx2;
	int bad = 0;

	/* one context, two classes of locks used each with their own */
	kipc_ww_mutex_init(&a, &ww_a);
	kipc_ww_mutex_init(&b, &ww_a);
	kipc_ww_acquire_init(&ctx, &ww_a);
	bad += kipc_ww_mutex_lock(&a, &ctx) != 0;
	bad += kipc_ww_mutex_lock(&a, &ctx) != -EALREADY;
	bad += kipc_ww_mutex_trylock(&b, &ctx) != 1;
	kipc_ww_acquire_done(&ctx);
	bad += !kipc_ww_mutex_is_locked(&a) || !kipc_ww_mutex_is_locked(&b);
	kipc_ww_mutex_unlock(&b);	/* unlock after done: allowed */
	kipc_ww_mutex_unlock(&a);
	kipc_ww_acquire_fini(&ctx);
	bad += kipc_ww_mutex_lock(&a, NULL) != 0;		/* NULL ctx */
	kipc_ww_mutex_unlock(&a);
	bad += kipc_ww_mutex_lock_interruptible(&a, NULL) != 0;
	kipc_ww_mutex_unlock(&a);
	bad += kipc_ww_mutex_trylock(&a, NULL) != 1;
	kipc_ww_mutex_unlock(&a);
	kipc_ww_mutex_destroy(&a);
	kipc_ww_mutex_destroy(&b);

	kipc_ww_mutex_init(&a, &wd_a);
	kipc_ww_acquire_init(&ctx, &wd_a);
	kipc_ww_acquire_init(&ctx2, &wd_a);
	bad += kipc_ww_mutex_lock_interruptible(&a, &ctx) != 0;
	kipc_ww_mutex_unlock(&a);
	bad += kipc_ww_mutex_lock(&a, &ctx2) != 0;
	kipc_ww_mutex_unlock(&a);
	kipc_ww_acquire_fini(&ctx2);
	kipc_ww_acquire_fini(&ctx);	/* fini of a context that locked and unlocked */
	kipc_ww_acquire_init(&ctx, &wd_a);
	kipc_ww_acquire_fini(&ctx);	/* and of one that never locked */
	kipc_ww_mutex_destroy(&a);

	/* a process-shared lock, locked with a context of either class */
	kipc_ww_mutex_init_flags(&s, &ww_a, KIPC_PSHARED);
	kipc_ww_acquire_init(&ctx, &ww_a);
	bad += kipc_ww_mutex_lock(&s, &ctx) != 0;
	kipc_ww_mutex_unlock(&s);
	kipc_ww_acquire_fini(&ctx);
	kipc_ww_mutex_destroy(&s);

	/* the ABBA with back-off, lock_slow, in both classes */
	bad += abba(&ww_a);
	bad += abba(&wd_a);
	return bad;
}

static void correct_use_child(void)
{
	_exit(correct_use() ? 1 : 0);
}

static void shared_use_child(void)
{
	struct kipc_ww_acquire_ctx ctx;
	int bad = 0;

	kipc_ww_acquire_init(&ctx, &wd_a);	/* this process's own class object */
	bad += kipc_ww_mutex_lock(shared, &ctx) != 0;	/* the parent released it */
	bad += kipc_ww_mutex_lock(shared, &ctx) != -EALREADY;
	kipc_ww_mutex_unlock(shared);
	kipc_ww_acquire_fini(&ctx);
	_exit(bad);
}

int main(void)
{
	struct kipc_ww_acquire_ctx pctx;
	struct outcome o;

	alarm(120);	/* a hang ends the run (SIGALRM) rather than the runner's timeout */

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}

	expect_abort(lock_after_done, MSG_DONE, "ww_mutex_lock after ww_acquire_done");
	expect_abort(lock_interruptible_after_done, MSG_DONE,
		     "ww_mutex_lock_interruptible after ww_acquire_done");
	expect_abort(trylock_after_done, MSG_DONE, "ww_mutex_trylock after ww_acquire_done");
	expect_abort(fini_with_locks_held, MSG_FINI, "ww_acquire_fini with a lock still held");
	expect_abort(fini_with_trylocked_held, MSG_FINI,
		     "ww_acquire_fini with a trylocked lock still held");
	expect_abort(lock_other_class, MSG_CLASS,
		     "ww_mutex_lock with a context of another wound-wait class");
	expect_abort(lock_interruptible_other_class, MSG_CLASS,
		     "ww_mutex_lock_interruptible, wait-die context on a wound-wait lock");
	expect_abort(second_lock_other_class, MSG_CLASS,
		     "a context's second lock of another class");
	expect_abort(trylock_other_class, MSG_CLASS,
		     "ww_mutex_trylock with a context of another class");
	expect_abort(unlock_never_locked, MSG_UNLOCKED, "unlock of a ww_mutex never locked");
	expect_abort(double_unlock, MSG_UNLOCKED, "double unlock (context)");
	expect_abort(double_unlock_plain, MSG_UNLOCKED, "double unlock (NULL context)");
	expect_abort(unlock_other_thread, MSG_NONOWNER,
		     "unlock of a ww_mutex another thread holds");
	kipc_ww_mutex_init_flags(shared, &ww_a, KIPC_PSHARED);
	kipc_ww_acquire_init(&pctx, &ww_a);
	kipc_ww_mutex_lock(shared, &pctx);
	expect_abort(unlock_other_process, MSG_NONOWNER,
		     "unlock of a shared ww_mutex another process holds");
	ok(kipc_ww_mutex_is_locked(shared), "the parent still holds the shared ww_mutex");
	/*
	 * The misuser must abort before touching the holder's bookkeeping,
	 * which lives in the shared memory: the parent's unlock still finds
	 * its context there and its context ends with nothing held.
	 */
	kipc_ww_mutex_unlock(shared);
	is(pctx.acquired, 0, "the parent's unlock after the misuse updated its context");
	if (pctx.acquired == 0)
		kipc_ww_acquire_fini(&pctx);	/* would abort otherwise */
	expect_abort(slow_without_deadlk, MSG_SLOW,
		     "ww_mutex_lock_slow on a lock that did not return -EDEADLK");
	expect_abort(slow_with_locks_held, MSG_SLOW, "ww_mutex_lock_slow with locks still held");

	run_child(correct_use_child, &o, 20);
	ok(o.status != -1 && WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0,
	   "correct use in a child: no abort, all results as expected (status %#x)", o.status);
	ok(!strstr(o.err, "kipc:"), "correct use in a child: no complaint on stderr");
	if (strstr(o.err, "kipc:"))
		diag("stderr was: %s", o.err);

	run_child(shared_use_child, &o, 20);
	ok(o.status != -1 && WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0 &&
	   !strstr(o.err, "kipc:"), "correct use of a shared ww_mutex by another process "
	   "(status %#x)", o.status);
	ok(!kipc_ww_mutex_is_locked(shared), "and the child left it unlocked");
	is(kipc_ww_mutex_trylock(shared, NULL), 1, "the parent can take it again");
	kipc_ww_mutex_unlock(shared);
	kipc_ww_mutex_destroy(shared);

	/* and in this process itself (threads only now: no fork after) */
	is(correct_use(), 0, "correct use in this process: no abort, results as expected");
	return done_testing();
}
