// SPDX-License-Identifier: MIT
/*
 * The spinlock slow path: test-and-set with a bounded wait.  See
 * docs/spinlock.md for the whole argument; in short:
 *
 * 1. A waiter competes as in a test-and-set lock: it reads the lock until it
 *    looks free and then tries to swap locked from 0 to 1.  While the lock
 *    stays within one core's cache this is as fast as a lock can be.
 * 2. Once it has waited KIPC_SPIN_STARVE_NS it is starving: it takes a
 *    ticket in the FIFO queue of starving waiters (starve_next/starve_head).
 * 3. The head of that queue sets handoff, and no one else tries to take
 *    the lock while it is set; when the holder releases, the head takes it,
 *    clears handoff and passes the turn.
 *
 * Mutual exclusion rests only on the compare-exchange of locked from 0 to 1
 * (acquire) and on unlock's release store: the starving queue and handoff
 * only decide who may try, so they are relaxed.  A thread that read a stale
 * handoff of 0 takes the lock once more ahead of the head; the bound on the
 * head's wait grows by that one critical section.
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

static uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static int take(kipc_spinlock_t *lock)
{
	uint32_t zero = 0;

	return __atomic_compare_exchange_n(&lock->locked, &zero, 1, 0,
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
		uint32_t h = load(&lock->starve_head);

		if (h == t)
			return 0;
		if ((int32_t)(h - t) > 0)
			return -1;
		/*
		 * The head is fine while it moves, or while it has its claim
		 * on a lock someone holds.  Otherwise (no claim, or a claim on a
		 * free lock nobody takes) it is stalled: skip it.
		 */
		if (h != last || (load(&lock->handoff) && load(&lock->locked))) {
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
		if (!load(&lock->locked) && take(lock))
			break;
		if (!load(&lock->handoff))
			__atomic_store_n(&lock->handoff, 1, __ATOMIC_RELAXED);
		if (load(&lock->starve_head) != t)
			return -1;
		kipc__spinwait_relax(w);
	}
	/* Withdraw the claim, then pass the turn (fails if we were skipped). */
	__atomic_store_n(&lock->handoff, 0, __ATOMIC_RELAXED);
	__atomic_compare_exchange_n(&lock->starve_head, &t, t + 1, 0,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return 0;
}

void kipc__spin_lock_slow(kipc_spinlock_t *lock)
{
	struct kipc__spinwait w;
	uint32_t t;

	kipc__spinwait_init(&w);
	/* Read-only spinning until the lock looks free: the line stays shared. */
	while (kipc__spinwait_elapsed(&w) < KIPC_SPIN_STARVE_NS) {
		if (!load(&lock->locked) && !load(&lock->handoff) && take(lock))
			return;
		kipc__spinwait_relax(&w);
	}
	do {
		t = __atomic_fetch_add(&lock->starve_next, 1, __ATOMIC_RELAXED);
	} while (starve_wait_turn(lock, t, &w) || starve_take(lock, t, &w));
}
