// SPDX-License-Identifier: MIT
/*
 * The spinlock slow path: test-and-set with a bounded wait.  See
 * docs/spinlock.md for the whole argument; in short:
 *
 * 1. A waiter competes as in a test-and-set lock: it reads the word until it
 *    is 0 and then tries to swap in LOCKED.  While the lock stays within one
 *    core's cache this is as fast as a lock can be.
 * 2. Once it has waited KIPC_SPIN_STARVE_NS it is starving: it takes a
 *    ticket in the FIFO queue of starving waiters (starve_next/starve_head).
 * 3. The head of that queue sets HANDOFF.  The word is then never 0 while
 *    HANDOFF is set, so no one else can take the lock; when the holder
 *    clears LOCKED the head swaps HANDOFF for LOCKED and passes the turn.
 *
 * Mutual exclusion rests only on the compare-exchange that turns a word
 * without LOCKED into LOCKED (acquire) and on unlock's release store: the
 * starving queue and HANDOFF only decide who may try, so they are relaxed.
 *
 * A starving waiter that stops making progress (killed, or preempted on an
 * oversubscribed machine) must not block the rest: if the head neither
 * holds its claim on a held lock nor moves for KIPC__SPIN_STALL_NS, the
 * next waiter skips it.  A skipped waiter that comes back notices that the
 * head has passed its ticket and queues again.
 */
#include <kipc/spinlock.h>
#include "spin.h"

#define KIPC__SPIN_STALL_NS 1000000

void kipc_spin_lock_init_flags(kipc_spinlock_t *lock, unsigned int flags)
{
	(void)flags;	/* the same lock works shared or private */
	*lock = (kipc_spinlock_t)KIPC_SPINLOCK_INIT;
	kipc__tsan_create(lock, 0);
}

static uint32_t spin_val(kipc_spinlock_t *lock)
{
	return __atomic_load_n(&lock->val, __ATOMIC_RELAXED);
}

static int spin_cas(kipc_spinlock_t *lock, uint32_t old)
{
	return __atomic_compare_exchange_n(&lock->val, &old, KIPC__SPIN_LOCKED, 0,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/*
 * Wait until ticket t is at the head of the starving queue.  Returns 0 then,
 * or -1 if the queue moved past t while this thread was not looking.
 */
static int starve_wait_turn(kipc_spinlock_t *lock, uint32_t t, struct kipc__spinwait *w)
{
	uint32_t last = t;		/* never a head value seen here */
	uint64_t healthy_at = w->now;

	for (;;) {
		uint32_t h = __atomic_load_n(&lock->starve_head, __ATOMIC_RELAXED);
		uint32_t v = spin_val(lock);

		if (h == t)
			return 0;
		if ((int32_t)(h - t) > 0)
			return -1;
		/*
		 * The head is fine while it moves, or while it has its claim
		 * on a lock someone holds.  Otherwise (no claim, or a claim on a
		 * free lock nobody takes) it is stalled: skip it.
		 */
		if (h != last || (v & (KIPC__SPIN_LOCKED | KIPC__SPIN_HANDOFF)) ==
				 (KIPC__SPIN_LOCKED | KIPC__SPIN_HANDOFF)) {
			last = h;
			healthy_at = w->now;
		} else if (w->now - healthy_at > KIPC__SPIN_STALL_NS) {
			__atomic_compare_exchange_n(&lock->starve_head, &h, h + 1, 0,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
			healthy_at = w->now;
		}
		kipc__spinwait_relax(w);
	}
}

/*
 * At the head: claim the next acquisition and take the lock when it is
 * released.  Returns 0 holding the lock, -1 if skipped meanwhile.
 */
static int starve_take(kipc_spinlock_t *lock, uint32_t t, struct kipc__spinwait *w)
{
	for (;;) {
		uint32_t v = spin_val(lock);

		if (!(v & KIPC__SPIN_LOCKED)) {
			/* Swapping in LOCKED alone also withdraws our claim. */
			if (spin_cas(lock, v))
				break;
			continue;
		}
		if (!(v & KIPC__SPIN_HANDOFF))
			__atomic_fetch_or(&lock->val, KIPC__SPIN_HANDOFF, __ATOMIC_RELAXED);
		if (__atomic_load_n(&lock->starve_head, __ATOMIC_RELAXED) != t)
			return -1;
		kipc__spinwait_relax(w);
	}
	/* Pass the turn; fails harmlessly if we were skipped meanwhile. */
	__atomic_compare_exchange_n(&lock->starve_head, &t, t + 1, 0,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return 0;
}

void kipc__spin_lock_slow(kipc_spinlock_t *lock)
{
	struct kipc__spinwait w;
	uint32_t t;

	kipc__spinwait_init(&w);
	/* Read-only spinning until the word is clear: the line stays shared. */
	while (kipc__spinwait_elapsed(&w) < KIPC_SPIN_STARVE_NS) {
		if (spin_val(lock) == 0 && spin_cas(lock, 0))
			return;
		kipc__spinwait_relax(&w);
	}
	do {
		t = __atomic_fetch_add(&lock->starve_next, 1, __ATOMIC_RELAXED);
	} while (starve_wait_turn(lock, t, &w) || starve_take(lock, t, &w));
}
