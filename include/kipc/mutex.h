/* SPDX-License-Identifier: MIT */
/*
 * kipc/mutex.h - the kernel's struct mutex: a sleeping lock on a futex.
 *
 *   struct kipc_mutex m;   KIPC_DEFINE_MUTEX(name);
 *   kipc_mutex_init(&m)                    in-process
 *   kipc_mutex_init_flags(&m, KIPC_PSHARED)  in shared memory, robust
 *   kipc_mutex_lock(&m)                    0 (or, shared, -EOWNERDEAD /
 *                                          -ENOTRECOVERABLE, see below)
 *   kipc_mutex_lock_interruptible(&m)      0, or -EINTR if a signal handler
 *                                          ran while it waited
 *   kipc_mutex_trylock(&m)                 1 acquired, 0 not (kernel convention)
 *   kipc_mutex_unlock(&m)
 *   kipc_mutex_is_locked(&m)               nonzero while held
 *   kipc_atomic_dec_and_mutex_lock(&cnt, &m)
 *                                          decrement cnt; if it reached 0
 *                                          return 1 holding m, else 0
 *   kipc_mutex_destroy(&m)
 *   kipc_mutex_consistent(&m)              after -EOWNERDEAD: mark the state
 *                                          repaired; 0, or -EINVAL
 *
 * The owner word holds the owner's TID plus two flag bits, as the kernel's
 * owner holds the task pointer plus flags: WAITERS (someone sleeps on the
 * futex) and HANDOFF (a waiter has waited too long).  Uncontended lock and
 * unlock are one compare-exchange each.  A contended locker spins briefly
 * (the holder usually leaves within a microsecond or two), then sleeps on
 * the futex.  Newcomers may take a just-released mutex ahead of sleepers,
 * which keeps it fast, until a sleeper has waited KIPC_MUTEX_HANDOFF_NS:
 * then each release is handed to the starving sleepers in futex (FIFO)
 * order and no one can barge in.  docs/mutex.md has the protocol.
 *
 * Process-shared mutexes (KIPC_PSHARED, in shared memory) are robust: if the
 * owner dies, the next locker gets -EOWNERDEAD holding the lock; it repairs
 * the protected state and calls kipc_mutex_consistent(), or unlocks without
 * doing so, after which every lock returns -ENOTRECOVERABLE.  A dead owner is
 * recognised from the TID in the owner word and that thread's start time
 * (a recycled TID is not mistaken for it), within KIPC_MUTEX_PROBE_MS of a
 * waiter going to sleep.  No robust list is registered: glibc owns the one
 * each thread has.
 *
 * Built with -DKIPC_DEBUG, the library checks what CONFIG_DEBUG_MUTEXES
 * does and aborts with a message on: use before init, unlock by a thread
 * that does not own the mutex, double unlock, destroy while locked.
 */
#ifndef KIPC_MUTEX_H
#define KIPC_MUTEX_H

#include <stdint.h>
#include <kipc/atomic.h>
#include <kipc/spinlock.h>	/* KIPC_PSHARED */

/* A sleeper that has waited this long makes releases hand-offs. */
#define KIPC_MUTEX_HANDOFF_NS 1000000
/* How often a shared mutex's sleepers check that the owner still lives. */
#define KIPC_MUTEX_PROBE_MS 20

struct kipc_mutex {
	uint32_t owner;		/* futex word: TID | WAITERS | HANDOFF */
	uint32_t flags;		/* KIPC_PSHARED and the robust state */
	uint32_t starving;	/* sleepers past KIPC_MUTEX_HANDOFF_NS */
	uint32_t magic;		/* KIPC__MUTEX_MAGIC once initialised */
	uint64_t owner_start;	/* shared: the owner thread's start time */
};

#define KIPC__MUTEX_MAGIC 0x6d757478u	/* "mutx" */

#define KIPC_MUTEX_INITIALIZER { 0, 0, 0, KIPC__MUTEX_MAGIC, 0 }
#define KIPC_DEFINE_MUTEX(name) struct kipc_mutex name = KIPC_MUTEX_INITIALIZER

void kipc_mutex_init_flags(struct kipc_mutex *lock, unsigned int flags);
int kipc_mutex_lock(struct kipc_mutex *lock);
int kipc_mutex_lock_interruptible(struct kipc_mutex *lock);
int kipc_mutex_trylock(struct kipc_mutex *lock);
void kipc_mutex_unlock(struct kipc_mutex *lock);
int kipc_mutex_is_locked(struct kipc_mutex *lock);
int kipc_atomic_dec_and_mutex_lock(kipc_atomic_t *cnt, struct kipc_mutex *lock);
void kipc_mutex_destroy(struct kipc_mutex *lock);
int kipc_mutex_consistent(struct kipc_mutex *lock);

KIPC_INLINE void kipc_mutex_init(struct kipc_mutex *lock)
{
	kipc_mutex_init_flags(lock, 0);
}

#endif /* KIPC_MUTEX_H */
