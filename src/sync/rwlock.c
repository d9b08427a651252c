// SPDX-License-Identifier: MIT
/*
 * The queued rwlock's slow paths, after the kernel's qrwlock.c.
 *
 * Everyone who finds the word in the way queues on wait_lock, a bounded-wait
 * kipc spinlock, so arrival order is (nearly) kept and the lock's one
 * contended cache line is wait_lock's, not the count's.
 */
#include <kipc/rwlock.h>
#include "spin.h"

void kipc_rwlock_init_flags(kipc_rwlock_t *lock, unsigned int flags)
{
	(void)flags;	/* the same lock works shared or private */
	*lock = (kipc_rwlock_t)KIPC_RWLOCK_INIT;
	kipc__tsan_create(lock, 0);
}

/* Spin until cond(cnts) holds; the acquire orders what follows after it. */
#define wait_cnts(lock, c, cond) do {                                       \
	struct kipc__spinwait w_;                                            \
	kipc__spinwait_init(&w_);                                            \
	while ((c = __atomic_load_n(&(lock)->cnts, __ATOMIC_ACQUIRE), !(cond))) \
		kipc__spinwait_relax(&w_);                                   \
} while (0)

void kipc__read_lock_slow(kipc_rwlock_t *lock)
{
	uint32_t c;

	/* A writer holds or waits: take our bias back and queue. */
	__atomic_fetch_sub(&lock->cnts, KIPC__QR_BIAS, __ATOMIC_RELAXED);
	kipc__arch_spin_lock(&lock->wait_lock);
	/*
	 * At the head of the queue.  Count in now, before the writer (if any)
	 * releases: from here on no writer can take the word (its compare-
	 * exchange needs 0), and a writer behind us in the queue waits for the
	 * readers to drain.  WAITING is ignored: whoever set it is behind us.
	 * The acquire on the read below pairs with write_unlock's release.
	 */
	__atomic_fetch_add(&lock->cnts, KIPC__QR_BIAS, __ATOMIC_RELAXED);
	wait_cnts(lock, c, !(c & KIPC__QW_LOCKED));
	kipc__arch_spin_unlock(&lock->wait_lock);
}

void kipc__write_lock_slow(kipc_rwlock_t *lock)
{
	uint32_t c, waiting = KIPC__QW_WAITING;

	kipc__arch_spin_lock(&lock->wait_lock);
	if (!kipc__write_trylock_word(lock)) {
		/*
		 * Stop new readers at the fast path (they see WMASK bits and
		 * queue behind us), then wait for the present ones to leave.
		 */
		__atomic_fetch_or(&lock->cnts, KIPC__QW_WAITING, __ATOMIC_RELAXED);
		for (;;) {
			wait_cnts(lock, c, c == KIPC__QW_WAITING);
			if (__atomic_compare_exchange_n(&lock->cnts, &waiting, KIPC__QW_LOCKED,
							0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				break;
			waiting = KIPC__QW_WAITING;
		}
	}
	kipc__arch_spin_unlock(&lock->wait_lock);
}
