/* SPDX-License-Identifier: MIT */
/*
 * kipc/semaphore.h - the kernel's struct semaphore.
 *
 *   struct kipc_semaphore sem;   KIPC_DEFINE_SEMAPHORE(name, n);
 *   kipc_sema_init(&sem, n)      kipc_sema_init_flags(&sem, n, KIPC_PSHARED)
 *   kipc_down(&sem)              wait for a unit; signals do not interrupt
 *   kipc_down_interruptible(&sem)  0, or -EINTR if a signal handler ran
 *   kipc_down_killable(&sem)     as down_interruptible
 *   kipc_down_trylock(&sem)      0 acquired, 1 not: the kernel's inverted
 *                                convention
 *   kipc_down_timeout(&sem, jiffies)  0, or -ETIME after the timeout
 *   kipc_up(&sem)                release a unit; any thread, any process
 *                                sharing it, or a signal handler
 *
 * Waiters are served in FIFO order and up() hands its unit straight to the
 * first waiter: after an up() with waiters, a newcomer's down_trylock()
 * fails because the unit already belongs to the waiter.  A waiter spins
 * for 5 us (the other side's up() usually comes sooner than a futex wake-up
 * would), then sleeps on a futex.
 *
 * The semaphore is lock-free: waiters take tickets in one 64-bit state word
 * (count, tail, head) and each sleeps on the slot of its ticket; up() decides
 * a slot with one compare-exchange and advances head, and anyone who finds
 * a decided slot helps advance head.  So up() is async-signal-safe, and a
 * process killed at any instant leaves nothing locked, and a unit granted
 * to a waiter that died before taking it is taken back and passed on
 * (docs/semaphore.md).  FIFO order holds for
 * up to KIPC_SEM_FIFO_WAITERS concurrent waiters; more wait for a free
 * ticket.
 *
 * It holds no pointers: initialised with KIPC_PSHARED it works between
 * processes in shared memory.  Placed on a 64-byte boundary (as
 * KIPC_DEFINE_SEMAPHORE places it, and as shared mappings and
 * aligned_alloc(64, ...) do), its hot fields share one cache line.  Its
 * layout changed in 0.2: processes sharing one must use the same version.
 */
#ifndef KIPC_SEMAPHORE_H
#define KIPC_SEMAPHORE_H

#include <stdint.h>
#include <kipc/jiffies.h>
#include <kipc/spinlock.h>	/* KIPC_PSHARED */

/*
 * Ticket slots: the FIFO's capacity.  Twelve, so that they, the state word
 * and the fields up() reads fill one cache line: a hand-off reads state,
 * decides the head's slot, moves head and looks for overflow sleepers
 * without a second line crossing between the two processes (with 64 slots
 * spread over five lines, the wake-up round trip cost 1.6-1.9x the
 * spin-then-futex floor; on one line, about 1.4-1.6x; docs/semaphore.md).
 */
#define KIPC_SEM_FIFO_WAITERS 12
/* Tickets count modulo this (a multiple of the slots): see semaphore.c. */
#define KIPC__SEM_TICKETS (65536 / KIPC_SEM_FIFO_WAITERS * KIPC_SEM_FIFO_WAITERS)

struct kipc_semaphore {
	/* One cache line, from a 64-byte boundary: */
	uint64_t state;		/* count | tail << 32 | head << 48; semaphore.c */
	uint32_t flags;
	uint32_t overflow;	/* sleepers waiting for a free ticket */
	uint32_t slot[KIPC_SEM_FIFO_WAITERS];
	/* Written by waiters of a shared semaphore, read by reclaim only. */
	uint64_t waiter[KIPC_SEM_FIFO_WAITERS];	/* ticket << 32 | its TID */
};

#define KIPC__SEMAPHORE_INITIALIZER(n) { (uint32_t)(n), 0, 0, { 0 }, { 0 } }
#define KIPC_DEFINE_SEMAPHORE(name, n) \
	struct kipc_semaphore name __attribute__((aligned(64))) = KIPC__SEMAPHORE_INITIALIZER(n)

void kipc_sema_init_flags(struct kipc_semaphore *sem, int val, unsigned int flags);
void kipc_down(struct kipc_semaphore *sem);
int kipc_down_interruptible(struct kipc_semaphore *sem);
int kipc_down_killable(struct kipc_semaphore *sem);
int kipc_down_trylock(struct kipc_semaphore *sem);
int kipc_down_timeout(struct kipc_semaphore *sem, long jiffies);
void kipc_up(struct kipc_semaphore *sem);

KIPC_INLINE void kipc_sema_init(struct kipc_semaphore *sem, int val)
{
	kipc_sema_init_flags(sem, val, 0);
}

#endif /* KIPC_SEMAPHORE_H */
