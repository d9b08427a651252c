// SPDX-License-Identifier: MIT
/*
 * The futex mutex; the public contract is in <kipc/mutex.h>, the argument in
 * docs/mutex.md.
 *
 * The owner word (the futex) is TID | WAITERS | HANDOFF:
 *   0                      free, no sleeper
 *   TID                    held, no sleeper: unlock is one compare-exchange
 *   TID | WAITERS          held, someone may sleep: unlock must wake one
 *   WAITERS                free, someone may sleep: anyone may take it
 *   x | HANDOFF            a sleeper is starving: the next release is a
 *                          hand-off to a starving sleeper
 *   WAITERS | HANDOFF      released to a starving sleeper (RESERVED): only a
 *                          starving waiter may take it
 *   NOTREC                 the robust state was never repaired: unusable
 *
 * Sleepers wait on the same word with one of two futex bitsets, so that a
 * hand-off wakes the longest-waiting starving sleeper (the kernel queues
 * waiters of one futex in FIFO order) and never an ordinary one.
 *
 * Ordering: every acquisition is a compare-exchange with acquire that turns
 * a word without TID into our TID; every release is a release operation
 * that removes the TID.  Flag changes by waiters are relaxed: they decide who
 * sleeps and who is woken, never who is inside, and the futex syscalls
 * re-check the word in the kernel before sleeping.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <kipc/mutex.h>
#include "futex.h"
#include "spin.h"
#include "task.h"
#include "timeout.h"
#include "mutex_internal.h"

#define WAITERS   0x80000000u
#define HANDOFF   0x40000000u
#define TID_MASK  0x3fffffffu
#define NOTREC    TID_MASK		/* no TID is this large (pid_max <= 2^22) */
#define RESERVED  (WAITERS | HANDOFF)

/* flags: KIPC_PSHARED, and F_OWNERDEAD while -EOWNERDEAD is unrepaired. */
#define F_OWNERDEAD 0x2u

/* Futex bitsets: ordinary sleepers and starving sleepers. */
#define BIT_NORMAL 0x1u
#define BIT_STARVE 0x2u

/* Optimistic spinning before sleeping: about one short critical section. */
#define SPIN_NS 5000

#ifdef KIPC_DEBUG
__attribute__((noreturn))
static void debug_fail(const struct kipc_mutex *lock, const char *what)
{
	fprintf(stderr, "kipc: mutex %p: %s (owner word %#x)\n", (const void *)lock,
		what, __atomic_load_n(&lock->owner, __ATOMIC_RELAXED));
	abort();
}
#define DEBUG_CHECK(cond, lock, what) do { if (!(cond)) debug_fail(lock, what); } while (0)
#else
#define DEBUG_CHECK(cond, lock, what) ((void)0)
#endif

#define CHECK_INIT(lock) \
	DEBUG_CHECK((lock)->magic == KIPC__MUTEX_MAGIC, lock, "used before mutex_init")

static bool pshared(const struct kipc_mutex *lock)
{
	return lock->flags & KIPC_PSHARED;
}

static int futex_flags(const struct kipc_mutex *lock)
{
	return pshared(lock) ? KIPC__FUTEX_SHARED : 0;
}

static bool cas_owner(struct kipc_mutex *lock, uint32_t old, uint32_t new, int mo)
{
	return __atomic_compare_exchange_n(&lock->owner, &old, new, 0, mo, __ATOMIC_RELAXED);
}

/*
 * Just acquired.  A shared mutex records which incarnation of the TID owns
 * it, for the liveness probe of waiters; unlock clears it before releasing,
 * so a waiter that reads the owner word with acquire sees either 0
 * ("unknown yet") or this owner's own start time.
 */
static void note_owner(struct kipc_mutex *lock)
{
	if (pshared(lock))
		__atomic_store_n(&lock->owner_start, kipc__thread_start(), __ATOMIC_RELAXED);
}

void kipc_mutex_init_flags(struct kipc_mutex *lock, unsigned int flags)
{
	*lock = (struct kipc_mutex)KIPC_MUTEX_INITIALIZER;
	lock->flags = flags & KIPC_PSHARED;
	kipc__tsan_create(lock, 0);
}

int kipc_mutex_trylock(struct kipc_mutex *lock)
{
	int ok;

	CHECK_INIT(lock);
	kipc__tsan_pre_lock(lock, KIPC__TSAN_TRY);
	ok = cas_owner(lock, 0, kipc__gettid(), __ATOMIC_ACQUIRE);
	if (ok)
		note_owner(lock);
	kipc__tsan_post_lock(lock, ok ? KIPC__TSAN_TRY : KIPC__TSAN_TRY | KIPC__TSAN_TRY_FAILED);
	return ok;
}

/*
 * If the owner of v has died (shared mutexes only), take the lock over.
 * v is the word we went to sleep on, and owner_start belongs to whoever
 * holds the lock now: judge only while the word still reads v before and
 * after the start time is read, so that another owner's start time is
 * never held against the owner of v (which would then be robbed if it took
 * the lock again during the probe).
 */
static bool take_from_dead(struct kipc_mutex *lock, uint32_t v, uint32_t tid)
{
	uint32_t dead = v & TID_MASK;
	uint64_t start;

	if (!dead || dead == NOTREC || __atomic_load_n(&lock->owner, __ATOMIC_ACQUIRE) != v)
		return false;
	start = __atomic_load_n(&lock->owner_start, __ATOMIC_RELAXED);
	if (kipc__task_alive(dead, start) ||
	    __atomic_load_n(&lock->owner, __ATOMIC_ACQUIRE) != v ||
	    __atomic_load_n(&lock->owner_start, __ATOMIC_RELAXED) != start)
		return false;
	if (!cas_owner(lock, v, tid | (v & (WAITERS | HANDOFF)), __ATOMIC_ACQUIRE))
		return false;
	__atomic_fetch_or(&lock->flags, F_OWNERDEAD, __ATOMIC_RELAXED);
	return true;
}

void kipc__mutex_wake_waiters(struct kipc_mutex *lock)
{
	kipc__futex_wake(&lock->owner, INT_MAX, futex_flags(lock));
}

/*
 * until: an absolute CLOCK_MONOTONIC time after which to give up with
 * -ETIMEDOUT (NULL: never), for the wait/wound mutex's bounded waits.
 */
/*
 * Leaving without the lock, we may have consumed the wake-up meant to pass
 * it on (unlock cleared WAITERS and woke us), and other sleepers may remain.
 * If the lock is free, pass the wake-up to one of them; if it is held, make
 * sure its unlock will wake one.
 */
static void leave(struct kipc_mutex *lock)
{
	uint32_t v = __atomic_load_n(&lock->owner, __ATOMIC_RELAXED);

	for (;;) {
		if ((v & TID_MASK) == 0) {
			kipc__futex_wake_bitset(&lock->owner, 1, BIT_NORMAL | BIT_STARVE,
						futex_flags(lock));
			return;
		}
		if ((v & WAITERS) || (v & TID_MASK) == NOTREC ||
		    __atomic_compare_exchange_n(&lock->owner, &v, v | WAITERS, 0,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return;
	}
}

/*
 * Out of line (noinline): inlined, its registers and stack frame made the
 * uncontended lock save and restore six registers around one
 * compare-exchange, a fifth of a lock+unlock pair's cost.
 */
__attribute__((noinline, cold))
static int lock_slow(struct kipc_mutex *lock, uint32_t tid, bool interruptible,
		     const struct timespec *until)
{
	struct kipc__spinwait w;
	struct timespec deadline;
	const struct timespec *dl;
	bool starving = false;
	int ret;

	/*
	 * Optimistic spinning: the holder of a mutex usually leaves within a
	 * microsecond or two, far sooner than a sleep and wake-up would take.
	 * A free word may carry WAITERS; taking it keeps the flag.
	 */
	kipc__spinwait_init(&w);
	/* A caller with a time limit spins itself, deciding as it goes. */
	while (!until && kipc__spinwait_elapsed(&w) < SPIN_NS) {
		uint32_t v = __atomic_load_n(&lock->owner, __ATOMIC_RELAXED);

		if ((v & ~WAITERS) == 0 && cas_owner(lock, v, tid | v, __ATOMIC_ACQUIRE))
			return 0;
		if ((v & TID_MASK) == NOTREC)
			return -ENOTRECOVERABLE;
		kipc__spinwait_relax(&w);
	}

	for (;;) {
		uint32_t v = __atomic_load_n(&lock->owner, __ATOMIC_RELAXED);
		uint32_t owner = v & TID_MASK;
		int r;

		if (owner == NOTREC) {
			ret = -ENOTRECOVERABLE;
			break;
		}
		if (owner == 0 && (!(v & HANDOFF) || starving)) {
			/*
			 * Free, or reserved for the starving and we are.  We
			 * slept, so others may sleep: keep WAITERS; keep
			 * HANDOFF while other starving sleepers remain.
			 */
			uint32_t others = __atomic_load_n(&lock->starving, __ATOMIC_RELAXED) - starving;

			if (cas_owner(lock, v, tid | WAITERS | (others ? HANDOFF : 0),
				      __ATOMIC_ACQUIRE)) {
				ret = 0;
				break;
			}
			continue;
		}
		if (!starving && kipc__spinwait_elapsed(&w) >= KIPC_MUTEX_HANDOFF_NS) {
			starving = true;
			__atomic_fetch_add(&lock->starving, 1, __ATOMIC_RELAXED);
		}
		/* Announce ourselves before sleeping; the futex re-checks v. */
		if ((v | WAITERS | (starving ? HANDOFF : 0)) != v) {
			uint32_t nv = v | WAITERS | (starving ? HANDOFF : 0);

			if (!cas_owner(lock, v, nv, __ATOMIC_RELAXED))
				continue;
			v = nv;
		}
		dl = NULL;
		if (pshared(lock)) {
			/* Wake up now and then to see whether the owner died. */
			kipc__deadline_after(&deadline, KIPC_MUTEX_PROBE_MS * 1000000ull);
			dl = &deadline;
		} else if (interruptible) {
			/*
			 * The kernel restarts a futex wait without a timeout
			 * after a handler installed with SA_RESTART, and we
			 * would never see -EINTR; a wait with a timeout is never
			 * restarted.  So an interruptible one gets a deadline,
			 * never reached.
			 */
			deadline = (struct timespec){ .tv_sec = INT_MAX };
			dl = &deadline;
		}
		if (until && (!dl || kipc__ts_before(until, dl)))
			dl = until;
		r = kipc__futex_wait_bitset(&lock->owner, v, dl,
					    starving ? BIT_STARVE : BIT_NORMAL, futex_flags(lock));
		w.now = kipc__now_ns();
		if (r == -EINTR && interruptible) {
			/* Take a free lock rather than fail; else give up. */
			v = __atomic_load_n(&lock->owner, __ATOMIC_RELAXED);
			if ((v & TID_MASK) == 0 && (!(v & HANDOFF) || starving) &&
			    cas_owner(lock, v, tid | WAITERS, __ATOMIC_ACQUIRE)) {
				ret = 0;
				break;
			}
			ret = -EINTR;
			break;
		}
		if (r == -ETIMEDOUT && pshared(lock) && take_from_dead(lock, v, tid)) {
			ret = -EOWNERDEAD;
			break;
		}
		/*
		 * A caller with a time limit (the ww_mutex) also re-decides
		 * after every wake-up: it may have been woken to back off.
		 */
		if (until && (r == 0 || dl == until)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (starving)
		__atomic_fetch_sub(&lock->starving, 1, __ATOMIC_RELAXED);
	if (ret && ret != -EOWNERDEAD)
		leave(lock);
	return ret;
}

/*
 * Everything but a private mutex taken at the first try; tsan_pre done.
 * tried: the fast path's compare-exchange failed, so do not repeat it on
 * a contended line.
 */
__attribute__((noinline))
static int lock_general(struct kipc_mutex *lock, bool interruptible,
			const struct timespec *until, bool tried)
{
	uint32_t tid = kipc__gettid();
	int ret = 0;

	if (tried || !cas_owner(lock, 0, tid, __ATOMIC_ACQUIRE))
		ret = lock_slow(lock, tid, interruptible, until);
	if (ret == 0 || ret == -EOWNERDEAD)
		note_owner(lock);
	kipc__tsan_post_lock(lock, ret == 0 || ret == -EOWNERDEAD ? KIPC__TSAN_TRY :
			     KIPC__TSAN_TRY | KIPC__TSAN_TRY_FAILED);
	return ret;
}

/*
 * The uncontended private lock is the TID from the thread's cache and one
 * compare-exchange; the rest goes out of line, so this path saves no
 * registers (about a nanosecond of a 17 ns pair here).
 */
int kipc__mutex_lock_until(struct kipc_mutex *lock, bool interruptible,
			   const struct timespec *until)
{
	uint32_t tid = kipc__tid_cache;
	bool fast = tid && !pshared(lock);

	CHECK_INIT(lock);
	kipc__tsan_pre_lock(lock, KIPC__TSAN_TRY);
	if (kipc_likely(fast && cas_owner(lock, 0, tid, __ATOMIC_ACQUIRE))) {
		kipc__tsan_post_lock(lock, KIPC__TSAN_TRY);
		return 0;
	}
	return lock_general(lock, interruptible, until, fast);
}

int kipc_mutex_lock(struct kipc_mutex *lock)
{
	return kipc__mutex_lock_until(lock, false, NULL);
}

int kipc_mutex_lock_interruptible(struct kipc_mutex *lock)
{
	return kipc__mutex_lock_until(lock, true, NULL);
}

/*
 * The word held flags when unlock exchanged it for 0 (v: what it held), so
 * someone may sleep.  Without HANDOFF the release is done: wake one
 * ordinary sleeper, which takes the word with WAITERS set again.
 *
 * With HANDOFF the release must be a hand-off: reserve the word for the
 * starving (RESERVED, no TID) and wake the longest-waiting of them.  The
 * word was 0 for a moment, so a newcomer may have taken it first, with the
 * flags gone: then put WAITERS | HANDOFF back on its word, so that its
 * unlock makes the hand-off instead (one more critical section of wait for
 * the starving, as a stale read of HANDOFF costs them).  Out of line, as
 * lock_slow().
 */
__attribute__((noinline, cold))
static void unlock_slow(struct kipc_mutex *lock, uint32_t v)
{
	int ff = futex_flags(lock);

	if (!(v & HANDOFF)) {
		kipc__futex_wake_bitset(&lock->owner, 1, BIT_NORMAL, ff);
		return;
	}
	v = 0;
	for (;;) {
		if ((v & TID_MASK) == 0) {
			/* Relaxed: the exchange that freed the word released. */
			if (cas_owner(lock, v, RESERVED, __ATOMIC_RELAXED))
				break;
		} else if ((v & RESERVED) == RESERVED || (v & TID_MASK) == NOTREC ||
			   cas_owner(lock, v, v | RESERVED, __ATOMIC_RELAXED)) {
			return;
		}
		v = __atomic_load_n(&lock->owner, __ATOMIC_RELAXED);
	}
	if (kipc__futex_wake_bitset(&lock->owner, 1, BIT_STARVE, ff) > 0)
		return;
	/*
	 * No starving sleeper (it left, or is awake and will find the word
	 * itself): release to all.
	 */
	if (cas_owner(lock, RESERVED, WAITERS, __ATOMIC_RELAXED))
		kipc__futex_wake_bitset(&lock->owner, 1, BIT_NORMAL, ff);
}

/*
 * One exchange with release, as glibc's unlock: cheaper than the
 * compare-exchange of TID for 0 (about a nanosecond here), and it needs no
 * TID.  The word then reads 0 whatever flags it carried: unlock_slow()
 * deals with those.
 */
static void release(struct kipc_mutex *lock)
{
	uint32_t v = __atomic_exchange_n(&lock->owner, 0, __ATOMIC_RELEASE);

	if (kipc_unlikely(v & RESERVED))
		unlock_slow(lock, v);
}

/* A shared mutex's unlock: the robust state first. */
__attribute__((noinline))
static void unlock_shared(struct kipc_mutex *lock)
{
	/*
	 * Nobody holds an unrecoverable mutex: an unlock that ignored lock's
	 * -ENOTRECOVERABLE must not make it free again.  Only shared mutexes
	 * become unrecoverable, so a private unlock never looks.
	 */
	if ((__atomic_load_n(&lock->owner, __ATOMIC_RELAXED) & TID_MASK) == NOTREC)
		return;
	kipc__tsan_pre_unlock(lock, 0);
	__atomic_store_n(&lock->owner_start, 0, __ATOMIC_RELAXED);
	if (__atomic_load_n(&lock->flags, __ATOMIC_RELAXED) & F_OWNERDEAD) {
		/* Unlocked without kipc_mutex_consistent(): for good. */
		__atomic_fetch_and(&lock->flags, ~F_OWNERDEAD, __ATOMIC_RELAXED);
		__atomic_store_n(&lock->owner, NOTREC, __ATOMIC_RELEASE);
		kipc__futex_wake(&lock->owner, INT_MAX, KIPC__FUTEX_SHARED);
	} else {
		release(lock);
	}
	kipc__tsan_post_unlock(lock, 0);
}

/*
 * The private unlock reads nothing before its exchange: a load of the
 * owner word just ahead of it cost another nanosecond here.
 */
void kipc_mutex_unlock(struct kipc_mutex *lock)
{
	CHECK_INIT(lock);
	DEBUG_CHECK(kipc_mutex_is_locked(lock), lock, "unlock of an unlocked mutex");
	DEBUG_CHECK((__atomic_load_n(&lock->owner, __ATOMIC_RELAXED) & TID_MASK) == kipc__gettid(),
		    lock, "unlock by a thread that does not own it");
	if (kipc_unlikely(pshared(lock))) {
		unlock_shared(lock);
		return;
	}
	kipc__tsan_pre_unlock(lock, 0);
	release(lock);
	kipc__tsan_post_unlock(lock, 0);
}

int kipc_mutex_consistent(struct kipc_mutex *lock)
{
	uint32_t v = __atomic_load_n(&lock->owner, __ATOMIC_RELAXED);

	if (!(__atomic_load_n(&lock->flags, __ATOMIC_RELAXED) & F_OWNERDEAD) ||
	    (v & TID_MASK) != kipc__gettid())
		return -EINVAL;
	__atomic_fetch_and(&lock->flags, ~F_OWNERDEAD, __ATOMIC_RELAXED);
	return 0;
}

int kipc_mutex_is_locked(struct kipc_mutex *lock)
{
	return (__atomic_load_n(&lock->owner, __ATOMIC_RELAXED) & TID_MASK) != 0;
}

/* As the kernel: decrement without the lock unless we might reach 0. */
int kipc_atomic_dec_and_mutex_lock(kipc_atomic_t *cnt, struct kipc_mutex *lock)
{
	if (kipc_atomic_add_unless(cnt, -1, 1))
		return 0;
	kipc_mutex_lock(lock);
	if (!kipc_atomic_dec_and_test(cnt)) {
		kipc_mutex_unlock(lock);
		return 0;
	}
	return 1;
}

void kipc_mutex_destroy(struct kipc_mutex *lock)
{
	CHECK_INIT(lock);
	DEBUG_CHECK(!kipc_mutex_is_locked(lock), lock, "destroy of a locked mutex");
	kipc__tsan_destroy(lock, 0);
	lock->magic = 0;
}

bool kipc__mutex_owner_dead(struct kipc_mutex *lock)
{
	uint32_t v = __atomic_load_n(&lock->owner, __ATOMIC_ACQUIRE) & TID_MASK;

	return v && v != NOTREC &&
	       !kipc__task_alive(v, __atomic_load_n(&lock->owner_start, __ATOMIC_RELAXED));
}
