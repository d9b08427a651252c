/* SPDX-License-Identifier: MIT */
/*
 * kipc/ww_mutex.h - the kernel's wait/wound mutexes: deadlock-free locking
 * of several mutexes in any order.
 *
 *   KIPC_DEFINE_WW_CLASS(name)   wound-wait class
 *   KIPC_DEFINE_WD_CLASS(name)   wait-die class
 *   struct kipc_ww_mutex m;      kipc_ww_mutex_init(&m, &class)
 *                                kipc_ww_mutex_init_flags(&m, &class, KIPC_PSHARED)
 *   struct kipc_ww_acquire_ctx ctx;
 *   kipc_ww_acquire_init(&ctx, &class)   take a stamp: older stamps win
 *   kipc_ww_mutex_lock(&m, &ctx)         0, -EDEADLK (back off), -EALREADY
 *                                        (ctx holds m already); NULL ctx:
 *                                        a plain mutex lock
 *   kipc_ww_mutex_lock_interruptible(&m, &ctx)   also -EINTR
 *   kipc_ww_mutex_lock_slow(&m, &ctx)    after -EDEADLK, with nothing held:
 *                                        sleep until m is ours; no error
 *   kipc_ww_mutex_lock_slow_interruptible(&m, &ctx)   0 or -EINTR
 *   kipc_ww_mutex_trylock(&m, &ctx)      1 acquired, 0 not
 *   kipc_ww_mutex_unlock(&m)   kipc_ww_mutex_is_locked(&m)   kipc_ww_mutex_destroy(&m)
 *   kipc_ww_acquire_done(&ctx)           no more locking with ctx
 *   kipc_ww_acquire_fini(&ctx)           after every lock is unlocked
 *
 * The decision when a context meets a lock held by another context:
 *   wait-die:   a younger requester gets -EDEADLK at once ("dies"); an
 *               older one waits;
 *   wound-wait: an older requester "wounds" the younger holder and waits; the
 *               wounded context gets -EDEADLK at its next contended lock, or
 *               within a millisecond if it is already waiting; a younger
 *               requester waits.
 * Either way waits only ever go one way in age, so no cycle, no deadlock.
 * A context that holds no lock never gets -EDEADLK (it cannot be in a cycle).
 * After -EDEADLK the caller unlocks everything it holds, takes the contended
 * lock with kipc_ww_mutex_lock_slow(), and retries the rest:
 *
 *	retry:
 *		list_for_each_entry(obj, list, head) {
 *			ret = kipc_ww_mutex_lock(&obj->lock, &ctx);
 *			if (ret == -EDEADLK) {
 *				unlock all taken so far;
 *				kipc_ww_mutex_lock_slow(&obj->lock, &ctx);
 *				move obj to the head of the list;
 *				goto retry (skipping obj, now held);
 *			}
 *		}
 *
 * Stamps are CLOCK_MONOTONIC nanoseconds (made unique within the class) with
 * the thread's TID as tie-break, so contexts of different processes compare
 * correctly and ww_mutexes initialised with KIPC_PSHARED work in shared
 * memory.  A ww_mutex records its holder's stamp and TID, and, for the
 * holder's own use only, a pointer to the holder's context and its place in
 * the context's list of held locks (nobody else reads them).
 *
 * Built with -DKIPC_DEBUG the library aborts with a message on: locking after
 * ww_acquire_done(), ww_acquire_fini() with locks still held, a context of
 * one class on a lock of another (in-process locks only), and, through the
 * mutex underneath, unlocking a lock not held.
 */
#ifndef KIPC_WW_MUTEX_H
#define KIPC_WW_MUTEX_H

#include <stdint.h>
#include <kipc/mutex.h>

struct kipc_ww_class {
	uint64_t stamp;			/* the last stamp given in this process */
	unsigned int is_wait_die;
	const char *name;
};

struct kipc_ww_acquire_ctx {
	uint64_t stamp;
	uint32_t tid;
	unsigned int acquired;		/* locks held */
	unsigned int done;		/* ww_acquire_done() was called */
	struct kipc_ww_class *ww_class;
	struct kipc_ww_mutex *held;	/* the held locks, newest first */
	struct kipc_ww_mutex *contending;	/* the lock -EDEADLK was for */
};

struct kipc_ww_mutex {
	struct kipc_mutex base;
	uint64_t stamp;			/* the holder context's stamp; 0: none */
	uint64_t wound;			/* stamp of a holder told to back off */
	uint32_t stamp_tid;		/* the holder context's TID */
	uint32_t flags;
	struct kipc_ww_class *ww_class;	/* debug: the class, in this process */
	/* The holder's own bookkeeping: meaningful to the holder only. */
	struct kipc_ww_acquire_ctx *ctx;
	struct kipc_ww_mutex *held_prev, *held_next;
};

#define KIPC_DEFINE_WW_CLASS(classname) \
	struct kipc_ww_class classname = { 0, 0, #classname }
#define KIPC_DEFINE_WD_CLASS(classname) \
	struct kipc_ww_class classname = { 0, 1, #classname }

void kipc_ww_mutex_init_flags(struct kipc_ww_mutex *lock, struct kipc_ww_class *ww_class,
			      unsigned int flags);
void kipc_ww_acquire_init(struct kipc_ww_acquire_ctx *ctx, struct kipc_ww_class *ww_class);
void kipc_ww_acquire_done(struct kipc_ww_acquire_ctx *ctx);
void kipc_ww_acquire_fini(struct kipc_ww_acquire_ctx *ctx);
int kipc_ww_mutex_lock(struct kipc_ww_mutex *lock, struct kipc_ww_acquire_ctx *ctx);
int kipc_ww_mutex_lock_interruptible(struct kipc_ww_mutex *lock,
				     struct kipc_ww_acquire_ctx *ctx);
void kipc_ww_mutex_lock_slow(struct kipc_ww_mutex *lock, struct kipc_ww_acquire_ctx *ctx);
int kipc_ww_mutex_lock_slow_interruptible(struct kipc_ww_mutex *lock,
					  struct kipc_ww_acquire_ctx *ctx);
int kipc_ww_mutex_trylock(struct kipc_ww_mutex *lock, struct kipc_ww_acquire_ctx *ctx);
void kipc_ww_mutex_unlock(struct kipc_ww_mutex *lock);
int kipc_ww_mutex_is_locked(struct kipc_ww_mutex *lock);
void kipc_ww_mutex_destroy(struct kipc_ww_mutex *lock);

KIPC_INLINE void kipc_ww_mutex_init(struct kipc_ww_mutex *lock, struct kipc_ww_class *ww_class)
{
	kipc_ww_mutex_init_flags(lock, ww_class, 0);
}

#endif /* KIPC_WW_MUTEX_H */
