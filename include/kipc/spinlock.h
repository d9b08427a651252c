/* SPDX-License-Identifier: MIT */
/*
 * kipc/spinlock.h - the kernel's spinlock_t.
 *
 *   kipc_spinlock_t lock;   KIPC_DEFINE_SPINLOCK(name);   KIPC_SPINLOCK_INIT
 *   kipc_spin_lock_init(&lock)
 *   kipc_spin_lock_init_flags(&lock, KIPC_PSHARED)   for shared memory
 *   kipc_spin_lock(&lock)           spin until acquired
 *   kipc_spin_trylock(&lock)        1 acquired, 0 contended (kernel convention)
 *   kipc_spin_unlock(&lock)
 *   kipc_spin_is_locked(&lock)      nonzero while held
 *   kipc_spin_lock_bh / kipc_spin_unlock_bh / kipc_spin_trylock_bh
 *                                   identical to the plain forms: user space
 *                                   has no bottom halves
 *   kipc_spin_lock_irq / kipc_spin_unlock_irq
 *                                   block asynchronous signals on this thread
 *                                   / unblock them all (see kipc/irqflags.h)
 *   kipc_spin_lock_irqsave(&lock, flags) / kipc_spin_unlock_irqrestore(&lock, flags)
 *                                   block them, saving the mask in the
 *                                   unsigned long flags / restore it exactly
 *
 * A signal handler is user space's interrupt: if a handler takes a lock the
 * interrupted code on the same thread holds, the thread spins on itself for
 * ever, the seed's deadlock.  Code that shares a lock with a signal handler
 * takes it with _irqsave (or _irq) outside the handler.
 *
 * The lock is a test-and-set lock, so a thread that keeps wanting the lock
 * keeps it while its cache line stays local (the throughput of an unfair
 * lock), but no waiter starves: a waiter that has spun for
 * KIPC_SPIN_STARVE_NS queues in FIFO order among the starving, and the head
 * of that queue sets a hand-off flag that stops everyone else from taking
 * the lock until it has had it.  Waiters spin with a pause hint and yield the
 * CPU after a bounded spin, so a preempted holder or waiter on an
 * oversubscribed machine costs a time slice, not a collapse.  The algorithm
 * and its memory ordering are in docs/spinlock.md.
 *
 * A spinlock holds no pointers and waits without futexes, so it works in
 * memory shared between processes at any address; KIPC_PSHARED is accepted
 * by kipc_spin_lock_init_flags() for uniformity with the sleeping locks and
 * changes nothing.  As in the kernel and
 * pthreads, a spinlock whose holder dies stays locked: use a robust mutex
 * where a holder may be killed.
 */
#ifndef KIPC_SPINLOCK_H
#define KIPC_SPINLOCK_H

#include <stdint.h>
#include <kipc/compiler.h>
#include <kipc/irqflags.h>
#include <kipc/tsan.h>

/* Initialisation flag: the lock lives in memory shared between processes. */
#define KIPC_PSHARED 1u

/* How long a waiter spins before it may claim the hand-off. */
#define KIPC_SPIN_STARVE_NS 20000

typedef struct kipc_spinlock {
	uint32_t locked;	/* 1 while held */
	uint32_t handoff;	/* 1: the head starving waiter is owed the lock */
	uint32_t starve_next;	/* tickets of the FIFO queue of starving waiters */
	uint32_t starve_head;
} kipc_spinlock_t;

#define KIPC_SPINLOCK_INIT { 0, 0, 0, 0 }
#define KIPC_DEFINE_SPINLOCK(name) kipc_spinlock_t name = KIPC_SPINLOCK_INIT

void kipc_spin_lock_init_flags(kipc_spinlock_t *lock, unsigned int flags);
void kipc__spin_lock_slow(kipc_spinlock_t *lock);

KIPC_INLINE void kipc_spin_lock_init(kipc_spinlock_t *lock)
{
	kipc_spin_lock_init_flags(lock, 0);
}

/*
 * The lock itself (kipc__arch_*, used unannotated inside other kipc locks),
 * then the public forms wrapped in the ThreadSanitizer annotations.
 *
 * A lock owed to a starving waiter is not taken.  handoff is only a hint
 * (relaxed: a stale 0 lets one more acquisition through, and the waiter's
 * bound absorbs it); exclusion is the compare-exchange of locked, whose
 * acquire keeps the critical section after it.
 */
KIPC_INLINE int kipc__arch_spin_trylock(kipc_spinlock_t *lock)
{
	uint32_t zero = 0;

	return !__atomic_load_n(&lock->handoff, __ATOMIC_RELAXED) &&
	       __atomic_compare_exchange_n(&lock->locked, &zero, 1, 0,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

KIPC_INLINE void kipc__arch_spin_lock(kipc_spinlock_t *lock)
{
	if (kipc_unlikely(!kipc__arch_spin_trylock(lock)))
		kipc__spin_lock_slow(lock);
}

/*
 * A release store: it publishes the critical section to the next acquirer.
 * locked is a word of its own, written at the width it is read, so the next
 * compare-exchange on this core is forwarded from the store buffer instead
 * of stalling on a narrower store.
 */
KIPC_INLINE void kipc__arch_spin_unlock(kipc_spinlock_t *lock)
{
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

KIPC_INLINE int kipc_spin_trylock(kipc_spinlock_t *lock)
{
	int ok;

	kipc__tsan_pre_lock(lock, KIPC__TSAN_TRY);
	ok = kipc__arch_spin_trylock(lock);
	kipc__tsan_post_lock(lock, ok ? KIPC__TSAN_TRY : KIPC__TSAN_TRY | KIPC__TSAN_TRY_FAILED);
	return ok;
}

KIPC_INLINE void kipc_spin_lock(kipc_spinlock_t *lock)
{
	kipc__tsan_pre_lock(lock, 0);
	kipc__arch_spin_lock(lock);
	kipc__tsan_post_lock(lock, 0);
}

KIPC_INLINE void kipc_spin_unlock(kipc_spinlock_t *lock)
{
	kipc__tsan_pre_unlock(lock, 0);
	kipc__arch_spin_unlock(lock);
	kipc__tsan_post_unlock(lock, 0);
}

KIPC_INLINE int kipc_spin_is_locked(kipc_spinlock_t *lock)
{
	return __atomic_load_n(&lock->locked, __ATOMIC_RELAXED) != 0;
}

/* No bottom halves in user space: the _bh forms are the plain ones. */
KIPC_INLINE void kipc_spin_lock_bh(kipc_spinlock_t *lock) { kipc_spin_lock(lock); }
KIPC_INLINE void kipc_spin_unlock_bh(kipc_spinlock_t *lock) { kipc_spin_unlock(lock); }
KIPC_INLINE int kipc_spin_trylock_bh(kipc_spinlock_t *lock) { return kipc_spin_trylock(lock); }

KIPC_INLINE void kipc_spin_lock_irq(kipc_spinlock_t *lock)
{
	kipc_local_irq_disable();
	kipc_spin_lock(lock);
}

KIPC_INLINE void kipc_spin_unlock_irq(kipc_spinlock_t *lock)
{
	kipc_spin_unlock(lock);
	kipc_local_irq_enable();
}

KIPC_INLINE int kipc_spin_trylock_irq(kipc_spinlock_t *lock)
{
	kipc_local_irq_disable();
	if (kipc_spin_trylock(lock))
		return 1;
	kipc_local_irq_enable();
	return 0;
}

#define kipc_spin_lock_irqsave(lock, flags) \
	do { kipc_local_irq_save(flags); kipc_spin_lock(lock); } while (0)
#define kipc_spin_unlock_irqrestore(lock, flags) \
	do { kipc_spin_unlock(lock); kipc_local_irq_restore(flags); } while (0)
#define kipc_spin_trylock_irqsave(lock, flags) ({                             \
	kipc_local_irq_save(flags);                                            \
	kipc_spin_trylock(lock) ? 1 : (kipc_local_irq_restore(flags), 0); })

#endif /* KIPC_SPINLOCK_H */
