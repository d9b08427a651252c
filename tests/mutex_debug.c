// SPDX-License-Identifier: MIT
/*
 * The mutex's KIPC_DEBUG checks (this program and the library it links,
 * build/libkipc-debug.a, are built with -DKIPC_DEBUG): use before init (and
 * after destroy), unlock by a thread or process that does not own it,
 * double unlock, unlock of a mutex never locked, destroy while locked.
 * Each misuse runs in a fork()ed child, whose stderr goes to a pipe: it
 * must die of SIGABRT after a message naming the misuse.  Correct use,
 * contended by threads and shared between processes, must not abort nor
 * complain.
 *
 * Every fork() happens before this process creates a thread; children may
 * create their own.
 */
#include <kipc/mutex.h>

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

#define MSG_INIT     "used before mutex_init"
#define MSG_NONOWNER "does not own"
#define MSG_UNLOCKED "unlock of an unlocked mutex"
#define MSG_DESTROY  "destroy of a locked mutex"

static struct kipc_mutex *shared;	/* MAP_SHARED, locked by the parent */

/* One misuse: the child must abort, saying so. */
static void expect_abort(void (*fn)(void), const char *msg, const char *what)
{
	struct outcome o;

	run_child(fn, &o, 0);
	ok(aborted(&o), "%s: the child died of SIGABRT (status %#x)", what, o.status);
	ok(strstr(o.err, "kipc: mutex") && strstr(o.err, msg),
	   "%s: with a message naming it (\"%s\")", what, msg);
	if (!strstr(o.err, msg))
		diag("stderr was: %s", o.err);
}

/* ---- the misuses ---- */

static void lock_zeroed(void)
{
	struct kipc_mutex m;

	memset(&m, 0, sizeof(m));
	kipc_mutex_lock(&m);
}

static void trylock_garbage(void)
{
	struct kipc_mutex m;

	memset(&m, 0xa5, sizeof(m));
	kipc_mutex_trylock(&m);
}

static void unlock_zeroed(void)
{
	struct kipc_mutex m;

	memset(&m, 0, sizeof(m));
	kipc_mutex_unlock(&m);
}

static void lock_after_destroy(void)
{
	struct kipc_mutex m;

	kipc_mutex_init(&m);
	kipc_mutex_lock(&m);
	kipc_mutex_unlock(&m);
	kipc_mutex_destroy(&m);
	kipc_mutex_lock_interruptible(&m);
}

static void double_unlock(void)
{
	struct kipc_mutex m;

	kipc_mutex_init(&m);
	kipc_mutex_lock(&m);
	kipc_mutex_unlock(&m);
	kipc_mutex_unlock(&m);
}

static void unlock_never_locked(void)
{
	struct kipc_mutex m;

	kipc_mutex_init_flags(&m, KIPC_PSHARED);
	kipc_mutex_unlock(&m);
}

static struct kipc_mutex thread_held;

static void *lock_and_leave(void *arg)
{
	(void)arg;
	kipc_mutex_lock(&thread_held);
	return NULL;
}

static void unlock_other_thread(void)
{
	pthread_t th;

	kipc_mutex_init(&thread_held);
	pthread_create(&th, NULL, lock_and_leave, NULL);
	pthread_join(th, NULL);
	kipc_mutex_unlock(&thread_held);	/* held by the other thread */
}

static void unlock_other_process(void)
{
	kipc_mutex_unlock(shared);		/* held by the parent */
}

static void destroy_locked(void)
{
	struct kipc_mutex m;

	kipc_mutex_init(&m);
	kipc_mutex_lock(&m);
	kipc_mutex_destroy(&m);
}

static void destroy_locked_by_other(void)
{
	pthread_t th;

	kipc_mutex_init(&thread_held);
	pthread_create(&th, NULL, lock_and_leave, NULL);
	pthread_join(th, NULL);
	kipc_mutex_destroy(&thread_held);
}

/* ---- correct use ---- */

static KIPC_DEFINE_MUTEX(static_mutex);

struct contender {
	struct kipc_mutex *m;
	long *counter;
	pthread_t thread;
};

static void *contend(void *arg)
{
	struct contender *c = arg;
	int i;

	for (i = 0; i < 20000; i++) {
		if (i % 3 == 0) {
			while (!kipc_mutex_trylock(c->m))
				;
		} else if (kipc_mutex_lock(c->m) != 0) {
			abort();
		}
		(*c->counter)++;
		kipc_mutex_unlock(c->m);
	}
	return NULL;
}

/* Everything a correct program does; returns 0 if all went as expected. */
static int correct_use(void)
{
	struct kipc_mutex m;
	struct contender c[3];
	kipc_atomic_t cnt;
	long counter = 0;
	int bad = 0, i;

	kipc_mutex_init(&m);
	bad += kipc_mutex_lock(&m) != 0;
	kipc_mutex_unlock(&m);
	bad += kipc_mutex_trylock(&m) != 1;
	bad += kipc_mutex_trylock(&m) != 0;
	kipc_mutex_unlock(&m);
	bad += kipc_mutex_lock_interruptible(&m) != 0;
	kipc_mutex_unlock(&m);
	kipc_atomic_set(&cnt, 2);
	bad += kipc_atomic_dec_and_mutex_lock(&cnt, &m) != 0;
	bad += kipc_atomic_dec_and_mutex_lock(&cnt, &m) != 1;
	kipc_mutex_unlock(&m);
	kipc_mutex_destroy(&m);
	kipc_mutex_init(&m);		/* again after destroy */
	bad += kipc_mutex_lock(&m) != 0;
	kipc_mutex_unlock(&m);

	bad += kipc_mutex_lock(&static_mutex) != 0;
	kipc_mutex_unlock(&static_mutex);

	for (i = 0; i < 3; i++) {
		c[i].m = &m;
		c[i].counter = &counter;
		pthread_create(&c[i].thread, NULL, contend, &c[i]);
	}
	for (i = 0; i < 3; i++)
		pthread_join(c[i].thread, NULL);
	bad += counter != 3 * 20000;
	kipc_mutex_destroy(&m);
	return bad;
}

static void correct_use_child(void)
{
	_exit(correct_use() ? 1 : 0);
}

static void shared_use_child(void)
{
	int bad = 0;

	bad += kipc_mutex_lock(shared) != 0;	/* the parent released it */
	kipc_mutex_unlock(shared);
	_exit(bad);
}

int main(void)
{
	struct outcome o;

	alarm(60);	/* a hang ends the run (SIGALRM) rather than the runner's timeout */

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}

	expect_abort(lock_zeroed, MSG_INIT, "lock of a zeroed, never initialised mutex");
	expect_abort(trylock_garbage, MSG_INIT, "trylock of an uninitialised (garbage) mutex");
	expect_abort(unlock_zeroed, MSG_INIT, "unlock of a never initialised mutex");
	expect_abort(lock_after_destroy, MSG_INIT, "lock_interruptible after mutex_destroy");
	expect_abort(double_unlock, MSG_UNLOCKED, "double unlock");
	expect_abort(unlock_never_locked, MSG_UNLOCKED, "unlock of a mutex never locked");
	expect_abort(unlock_other_thread, MSG_NONOWNER, "unlock by a thread that does not own it");
	kipc_mutex_init_flags(shared, KIPC_PSHARED);
	kipc_mutex_lock(shared);
	expect_abort(unlock_other_process, MSG_NONOWNER,
		     "unlock of a shared mutex held by another process");
	kipc_mutex_unlock(shared);
	expect_abort(destroy_locked, MSG_DESTROY, "destroy of a mutex the caller holds");
	expect_abort(destroy_locked_by_other, MSG_DESTROY,
		     "destroy of a mutex another thread holds");

	run_child(correct_use_child, &o, 0);
	ok(o.status != -1 && WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0,
	   "correct use in a child: no abort, all results as expected (status %#x)", o.status);
	ok(!strstr(o.err, "kipc:"), "correct use in a child: no complaint on stderr");
	if (strstr(o.err, "kipc:"))
		diag("stderr was: %s", o.err);

	run_child(shared_use_child, &o, 0);
	ok(o.status != -1 && WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0 &&
	   !strstr(o.err, "kipc:"), "correct use of a shared mutex by another process "
	   "(status %#x)", o.status);
	ok(!kipc_mutex_is_locked(shared), "and the child left it unlocked");
	is(kipc_mutex_trylock(shared), 1, "the parent can take it again");
	kipc_mutex_unlock(shared);
	kipc_mutex_destroy(shared);

	/* and in this process itself (threads only now: no fork after) */
	is(correct_use(), 0, "correct use in this process: no abort, results as expected");
	return done_testing();
}
