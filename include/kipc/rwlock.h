/* SPDX-License-Identifier: MIT */
/*
 * kipc/rwlock.h - the kernel's rwlock_t, a reader-writer spinlock.
 *
 *   kipc_rwlock_t lock;   KIPC_DEFINE_RWLOCK(name);   KIPC_RWLOCK_INIT
 *   kipc_rwlock_init(&lock)   kipc_rwlock_init_flags(&lock, KIPC_PSHARED)
 *   kipc_read_lock(&lock)     kipc_read_trylock(&lock)   kipc_read_unlock(&lock)
 *   kipc_write_lock(&lock)    kipc_write_trylock(&lock)  kipc_write_unlock(&lock)
 *   trylocks return 1 acquired / 0 not (kernel convention)
 *   and for each of read_ and write_:
 *   _lock_bh/_unlock_bh          identical to the plain forms (no bottom halves)
 *   _lock_irq/_unlock_irq        block / unblock asynchronous signals
 *   _lock_irqsave(lock, flags)/_unlock_irqrestore(lock, flags)
 *   kipc_write_trylock_irqsave(lock, flags)
 *
 * Any number of readers or one writer.  The algorithm is the kernel's queued
 * rwlock (kernel/locking/qrwlock.c): one word counts readers and holds the
 * writer byte; a reader adds itself with one atomic add and a writer takes a
 * free word with one compare-exchange.  Whoever finds the word in the way
 * queues on a kipc spinlock (bounded-wait, see kipc/spinlock.h): a waiting
 * writer sets WAITING, which sends new readers to that queue behind it, so a
 * stream of readers cannot starve a writer; a reader in the queue counts
 * itself in before the writer ahead of it releases, so writers cannot starve
 * readers either.  Details in docs/spinlock.md.
 *
 * Like the spinlock it holds no pointers and works between processes.
 *
 * One difference from the kernel: there, a reader in interrupt context
 * skips a waiting writer, so process context may take read_lock without
 * masking interrupts when handlers only read.  A signal handler cannot be
 * told apart from other code, so here it queues behind the writer like any
 * reader, and if it interrupted a read holder on its own thread that writer
 * waits for that holder for ever.  Code whose signal handlers take a read
 * lock takes it with _irqsave (or _irq) outside them too.
 */
#ifndef KIPC_RWLOCK_H
#define KIPC_RWLOCK_H

#include <stdint.h>
#include <kipc/spinlock.h>

typedef struct kipc_rwlock {
	union {
		uint32_t cnts;		/* readers << 9 | WAITING | writer byte */
		struct {
			uint8_t wlocked;
			uint8_t reserved[3];
		};
	};
	kipc_spinlock_t wait_lock;	/* the queue of those that found it busy */
} kipc_rwlock_t;

#define KIPC__QW_LOCKED  0x0ffu
#define KIPC__QW_WAITING 0x100u
#define KIPC__QW_WMASK   0x1ffu
#define KIPC__QR_BIAS    0x200u

#define KIPC_RWLOCK_INIT { { 0 }, KIPC_SPINLOCK_INIT }
#define KIPC_DEFINE_RWLOCK(name) kipc_rwlock_t name = KIPC_RWLOCK_INIT

void kipc_rwlock_init_flags(kipc_rwlock_t *lock, unsigned int flags);
void kipc__read_lock_slow(kipc_rwlock_t *lock);
void kipc__write_lock_slow(kipc_rwlock_t *lock);

KIPC_INLINE void kipc_rwlock_init(kipc_rwlock_t *lock)
{
	kipc_rwlock_init_flags(lock, 0);
}

/*
 * Reader fast path: count in; the acquire orders the read-side critical
 * section after it.  If a writer holds or waits, back out in the slow path.
 */
KIPC_INLINE void kipc_read_lock(kipc_rwlock_t *lock)
{
	kipc__tsan_pre_lock(lock, KIPC__TSAN_READ);
	if (kipc_unlikely(__atomic_fetch_add(&lock->cnts, KIPC__QR_BIAS, __ATOMIC_ACQUIRE) &
			  KIPC__QW_WMASK))
		kipc__read_lock_slow(lock);
	kipc__tsan_post_lock(lock, KIPC__TSAN_READ);
}

KIPC_INLINE int kipc_read_trylock(kipc_rwlock_t *lock)
{
	int ok = 0;

	kipc__tsan_pre_lock(lock, KIPC__TSAN_READ | KIPC__TSAN_TRY);
	if (!(__atomic_load_n(&lock->cnts, __ATOMIC_RELAXED) & KIPC__QW_WMASK)) {
		if (!(__atomic_fetch_add(&lock->cnts, KIPC__QR_BIAS, __ATOMIC_ACQUIRE) &
		      KIPC__QW_WMASK))
			ok = 1;
		else
			__atomic_fetch_sub(&lock->cnts, KIPC__QR_BIAS, __ATOMIC_RELAXED);
	}
	kipc__tsan_post_lock(lock, KIPC__TSAN_READ | KIPC__TSAN_TRY |
			     (ok ? 0 : KIPC__TSAN_TRY_FAILED));
	return ok;
}

/* Release: the read-side critical section happens before a writer's. */
KIPC_INLINE void kipc_read_unlock(kipc_rwlock_t *lock)
{
	kipc__tsan_pre_unlock(lock, KIPC__TSAN_READ);
	__atomic_fetch_sub(&lock->cnts, KIPC__QR_BIAS, __ATOMIC_RELEASE);
	kipc__tsan_post_unlock(lock, KIPC__TSAN_READ);
}

KIPC_INLINE int kipc__write_trylock_word(kipc_rwlock_t *lock)
{
	uint32_t zero = 0;

	return __atomic_compare_exchange_n(&lock->cnts, &zero, KIPC__QW_LOCKED, 0,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

KIPC_INLINE void kipc_write_lock(kipc_rwlock_t *lock)
{
	kipc__tsan_pre_lock(lock, 0);
	if (kipc_unlikely(!kipc__write_trylock_word(lock)))
		kipc__write_lock_slow(lock);
	kipc__tsan_post_lock(lock, 0);
}

KIPC_INLINE int kipc_write_trylock(kipc_rwlock_t *lock)
{
	int ok;

	kipc__tsan_pre_lock(lock, KIPC__TSAN_TRY);
	ok = !__atomic_load_n(&lock->cnts, __ATOMIC_RELAXED) && kipc__write_trylock_word(lock);
	kipc__tsan_post_lock(lock, ok ? KIPC__TSAN_TRY : KIPC__TSAN_TRY | KIPC__TSAN_TRY_FAILED);
	return ok;
}

/*
 * Only the writer byte changes: readers may be adding and removing their
 * bias concurrently (they back out in the slow path), so a release store of
 * that byte, not of the word.
 */
KIPC_INLINE void kipc_write_unlock(kipc_rwlock_t *lock)
{
	kipc__tsan_pre_unlock(lock, 0);
	__atomic_store_n(&lock->wlocked, 0, __ATOMIC_RELEASE);
	kipc__tsan_post_unlock(lock, 0);
}

KIPC_INLINE void kipc_read_lock_bh(kipc_rwlock_t *lock) { kipc_read_lock(lock); }
KIPC_INLINE void kipc_read_unlock_bh(kipc_rwlock_t *lock) { kipc_read_unlock(lock); }
KIPC_INLINE void kipc_write_lock_bh(kipc_rwlock_t *lock) { kipc_write_lock(lock); }
KIPC_INLINE void kipc_write_unlock_bh(kipc_rwlock_t *lock) { kipc_write_unlock(lock); }

KIPC_INLINE void kipc_read_lock_irq(kipc_rwlock_t *lock)
{
	kipc_local_irq_disable();
	kipc_read_lock(lock);
}

KIPC_INLINE void kipc_read_unlock_irq(kipc_rwlock_t *lock)
{
	kipc_read_unlock(lock);
	kipc_local_irq_enable();
}

KIPC_INLINE void kipc_write_lock_irq(kipc_rwlock_t *lock)
{
	kipc_local_irq_disable();
	kipc_write_lock(lock);
}

KIPC_INLINE void kipc_write_unlock_irq(kipc_rwlock_t *lock)
{
	kipc_write_unlock(lock);
	kipc_local_irq_enable();
}

#define kipc_read_lock_irqsave(lock, flags) \
	do { kipc_local_irq_save(flags); kipc_read_lock(lock); } while (0)
#define kipc_read_unlock_irqrestore(lock, flags) \
	do { kipc_read_unlock(lock); kipc_local_irq_restore(flags); } while (0)
#define kipc_write_lock_irqsave(lock, flags) \
	do { kipc_local_irq_save(flags); kipc_write_lock(lock); } while (0)
#define kipc_write_unlock_irqrestore(lock, flags) \
	do { kipc_write_unlock(lock); kipc_local_irq_restore(flags); } while (0)
#define kipc_write_trylock_irqsave(lock, flags) ({                            \
	kipc_local_irq_save(flags);                                            \
	kipc_write_trylock(lock) ? 1 : (kipc_local_irq_restore(flags), 0); })

#endif /* KIPC_RWLOCK_H */
