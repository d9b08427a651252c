// SPDX-License-Identifier: MIT
/*
 * Wait/wound mutexes on the kipc mutex; contract in <kipc/ww_mutex.h>,
 * argument in docs/ww_mutex.md.
 *
 * The lock itself is the mutex underneath.  What ww adds is the decision
 * taken when the mutex is contended, which needs the holder's age: the
 * holder writes its context's stamp and TID into the ww_mutex after taking
 * the mutex and clears them before releasing it.  A waiter reads them
 * relaxed: they are only a hint about whom it waits for, re-read every time
 * it wakes, and a stale hint at worst makes it wait one more round or back
 * off once without need.
 *
 * Wounding is a note in the lock: the wounder writes the holder's stamp into
 * lock->wound.  The holder looks for such a note on the locks it holds (its
 * context keeps a list) whenever it meets a contended lock, and a waiting
 * holder wakes every millisecond to look, which is how it learns of a wound
 * while it waits: no other thread can wake a sleeper on some other futex,
 * possibly in another process, whose address it does not know.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <kipc/ww_mutex.h>
#include "mutex_internal.h"
#include "spin.h"
#include "task.h"
#include "timeout.h"

/* How often a waiting context wakes to look for wounds and new holders. */
#define WW_POLL_NS 1000000
/* How long it spins before it sleeps at all. */
#define WW_SPIN_NS 5000

#ifdef KIPC_DEBUG
__attribute__((noreturn))
static void ww_debug_fail(const void *obj, const char *what)
{
	fprintf(stderr, "kipc: ww_mutex %p: %s\n", obj, what);
	abort();
}
#define WW_CHECK(cond, obj, what) do { if (!(cond)) ww_debug_fail(obj, what); } while (0)
#else
#define WW_CHECK(cond, obj, what) ((void)0)
#endif

void kipc_ww_mutex_init_flags(struct kipc_ww_mutex *lock, struct kipc_ww_class *ww_class,
			      unsigned int flags)
{
	*lock = (struct kipc_ww_mutex){ .ww_class = ww_class, .flags = flags & KIPC_PSHARED };
	kipc_mutex_init_flags(&lock->base, flags);
}

/* A stamp unique in the class (in this process) and ordered by time. */
void kipc_ww_acquire_init(struct kipc_ww_acquire_ctx *ctx, struct kipc_ww_class *ww_class)
{
	uint64_t now = kipc__now_ns(), last = __atomic_load_n(&ww_class->stamp, __ATOMIC_RELAXED);
	uint64_t stamp;

	do {
		stamp = now > last ? now : last + 1;
	} while (!__atomic_compare_exchange_n(&ww_class->stamp, &last, stamp, 0,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	*ctx = (struct kipc_ww_acquire_ctx){
		.stamp = stamp, .tid = kipc__gettid(), .ww_class = ww_class,
	};
}

void kipc_ww_acquire_done(struct kipc_ww_acquire_ctx *ctx)
{
	ctx->done = 1;
}

void kipc_ww_acquire_fini(struct kipc_ww_acquire_ctx *ctx)
{
	WW_CHECK(ctx->acquired == 0, ctx, "ww_acquire_fini with locks still held");
	ctx->ww_class = NULL;
}

/* Is the context (stamp a, tid ta) older than (b, tb)?  TIDs break ties. */
static bool older(uint64_t a, uint32_t ta, uint64_t b, uint32_t tb)
{
	return a < b || (a == b && ta < tb);
}

static bool wounded(const struct kipc_ww_acquire_ctx *ctx)
{
	const struct kipc_ww_mutex *m;

	for (m = ctx->held; m; m = m->held_next)
		if (__atomic_load_n(&m->wound, __ATOMIC_RELAXED) == ctx->stamp)
			return true;
	return false;
}

/*
 * The lock is contended: must ctx back off?  Wait-die: if the holder is
 * older.  Wound-wait: if ctx itself has been wounded; and if the holder is
 * younger, wound it.  A context holding nothing never backs off.
 */
static int ww_decide(struct kipc_ww_mutex *lock, struct kipc_ww_acquire_ctx *ctx)
{
	uint64_t hs = __atomic_load_n(&lock->stamp, __ATOMIC_RELAXED);
	uint32_t ht = __atomic_load_n(&lock->stamp_tid, __ATOMIC_RELAXED);

	if (ctx->ww_class->is_wait_die) {
		if (ctx->acquired && hs && older(hs, ht, ctx->stamp, ctx->tid))
			return -EDEADLK;
		return 0;
	}
	if (ctx->acquired && wounded(ctx))
		return -EDEADLK;
	if (hs && older(ctx->stamp, ctx->tid, hs, ht) &&
	    __atomic_exchange_n(&lock->wound, hs, __ATOMIC_RELAXED) != hs) {
		const struct kipc_ww_mutex *m;

		/*
		 * The victim is most often asleep on a lock we hold (the
		 * ABBA case): wake those sleepers so that it finds its wound
		 * now rather than at its next poll.
		 */
		for (m = ctx->held; m; m = m->held_next)
			kipc__mutex_wake_waiters((struct kipc_mutex *)&m->base);
	}
	return 0;
}

static void took(struct kipc_ww_mutex *lock, struct kipc_ww_acquire_ctx *ctx)
{
	__atomic_store_n(&lock->wound, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lock->stamp, ctx ? ctx->stamp : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lock->stamp_tid, ctx ? ctx->tid : 0, __ATOMIC_RELAXED);
	lock->ctx = ctx;
	if (!ctx)
		return;
	lock->held_prev = NULL;
	lock->held_next = ctx->held;
	if (ctx->held)
		ctx->held->held_prev = lock;
	ctx->held = lock;
	ctx->acquired++;
	ctx->contending = NULL;
}

static bool held_by(const struct kipc_ww_mutex *lock, const struct kipc_ww_acquire_ctx *ctx)
{
	return kipc_mutex_is_locked((struct kipc_mutex *)&lock->base) &&
	       (__atomic_load_n(&lock->base.owner, __ATOMIC_RELAXED) & 0x3fffffffu) == ctx->tid &&
	       __atomic_load_n(&lock->stamp, __ATOMIC_RELAXED) == ctx->stamp;
}

static int ww_lock(struct kipc_ww_mutex *lock, struct kipc_ww_acquire_ctx *ctx,
		   bool interruptible, bool decide)
{
	struct kipc__spinwait w;
	int r;

	if (!ctx) {
		r = kipc__mutex_lock_until(&lock->base, interruptible, NULL);
		if (r == 0 || r == -EOWNERDEAD)
			took(lock, NULL);
		return r == -EOWNERDEAD ? 0 : r;
	}
	WW_CHECK(!ctx->done, ctx, "ww_mutex_lock after ww_acquire_done");
	WW_CHECK((lock->flags & KIPC_PSHARED) || lock->ww_class == ctx->ww_class, lock,
		 "ww_mutex_lock with a context of another class");
	if (held_by(lock, ctx))
		return -EALREADY;
	kipc__spinwait_init(&w);
	for (;;) {
		struct timespec until;

		/* Read before the compare-exchange: the line stays shared. */
		if (!kipc_mutex_is_locked(&lock->base) && kipc_mutex_trylock(&lock->base))
			break;
		if (decide) {
			r = ww_decide(lock, ctx);
			if (r) {
				ctx->contending = lock;
				return r;
			}
		}
		/*
		 * Spin a little first, deciding again at every step: the
		 * holder is usually about to finish, and a wound is noticed
		 * here at once.
		 */
		if (kipc__spinwait_elapsed(&w) < WW_SPIN_NS) {
			kipc__spinwait_relax(&w);
			continue;
		}
		kipc__deadline_after(&until, WW_POLL_NS);
		r = kipc__mutex_lock_until(&lock->base, interruptible, &until);
		if (r == 0 || r == -EOWNERDEAD)
			break;
		if (r != -ETIMEDOUT)
			return r;
	}
	took(lock, ctx);
	return 0;
}

int kipc_ww_mutex_lock(struct kipc_ww_mutex *lock, struct kipc_ww_acquire_ctx *ctx)
{
	return ww_lock(lock, ctx, false, true);
}

int kipc_ww_mutex_lock_interruptible(struct kipc_ww_mutex *lock,
				     struct kipc_ww_acquire_ctx *ctx)
{
	return ww_lock(lock, ctx, true, true);
}

/*
 * After -EDEADLK the context holds nothing, so waiting cannot close a cycle:
 * wait without deciding (a wound-wait context still wounds on the way,
 * through the decision, so decide stays on there; it cannot fail with
 * nothing held).
 */
void kipc_ww_mutex_lock_slow(struct kipc_ww_mutex *lock, struct kipc_ww_acquire_ctx *ctx)
{
	WW_CHECK(!ctx || ctx->contending == lock, lock,
		 "ww_mutex_lock_slow on a lock that did not return -EDEADLK");
	WW_CHECK(!ctx || !ctx->acquired, lock, "ww_mutex_lock_slow with locks held");
	ww_lock(lock, ctx, false, ctx && !ctx->ww_class->is_wait_die);
}

int kipc_ww_mutex_lock_slow_interruptible(struct kipc_ww_mutex *lock,
					  struct kipc_ww_acquire_ctx *ctx)
{
	WW_CHECK(!ctx || ctx->contending == lock, lock,
		 "ww_mutex_lock_slow on a lock that did not return -EDEADLK");
	WW_CHECK(!ctx || !ctx->acquired, lock, "ww_mutex_lock_slow with locks held");
	return ww_lock(lock, ctx, true, ctx && !ctx->ww_class->is_wait_die);
}

int kipc_ww_mutex_trylock(struct kipc_ww_mutex *lock, struct kipc_ww_acquire_ctx *ctx)
{
	WW_CHECK(!ctx || !ctx->done, ctx, "ww_mutex_trylock after ww_acquire_done");
	WW_CHECK(!ctx || (lock->flags & KIPC_PSHARED) || lock->ww_class == ctx->ww_class, lock,
		 "ww_mutex_trylock with a context of another class");
	if (!kipc_mutex_trylock(&lock->base))
		return 0;
	took(lock, ctx);
	return 1;
}

void kipc_ww_mutex_unlock(struct kipc_ww_mutex *lock)
{
	struct kipc_ww_acquire_ctx *ctx = lock->ctx;

	WW_CHECK(kipc_mutex_is_locked(&lock->base), lock, "unlock of an unlocked ww_mutex");
	/*
	 * Before touching the holder's bookkeeping: a shared lock's is in
	 * shared memory, and the lawful holder must find it intact.
	 */
	WW_CHECK((__atomic_load_n(&lock->base.owner, __ATOMIC_RELAXED) & 0x3fffffffu) ==
		 kipc__gettid(), lock, "unlock of a ww_mutex by a thread that does not own it");
	if (ctx) {
		if (lock->held_prev)
			lock->held_prev->held_next = lock->held_next;
		else
			ctx->held = lock->held_next;
		if (lock->held_next)
			lock->held_next->held_prev = lock->held_prev;
		ctx->acquired--;
	}
	lock->ctx = NULL;
	__atomic_store_n(&lock->stamp, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lock->stamp_tid, 0, __ATOMIC_RELAXED);
	kipc_mutex_unlock(&lock->base);
}

int kipc_ww_mutex_is_locked(struct kipc_ww_mutex *lock)
{
	return kipc_mutex_is_locked(&lock->base);
}

void kipc_ww_mutex_destroy(struct kipc_ww_mutex *lock)
{
	kipc_mutex_destroy(&lock->base);
}
