/* SPDX-License-Identifier: MIT */
/*
 * kipc/bitops.h - the kernel's bit operations on arrays of unsigned long.
 *
 * Bit nr lives in word nr / KIPC_BITS_PER_LONG of addr, so nr may be far
 * beyond the first word (a bitmap is KIPC_DECLARE_BITMAP(name, bits)).
 *
 * Atomic (any thread, any process sharing the memory):
 *   void kipc_set_bit(nr, addr)   kipc_clear_bit(nr, addr)   kipc_change_bit(nr, addr)
 *        relaxed: no ordering (use kipc_smp_mb__before/after_atomic())
 *   bool kipc_test_and_set_bit(nr, addr)   kipc_test_and_clear_bit(nr, addr)
 *        kipc_test_and_change_bit(nr, addr)
 *        the old bit; fully ordered (the kernel orders only when the bit
 *        changes; kipc always does)
 *   bool kipc_test_and_set_bit_lock(nr, addr)   acquire: a bit lock
 *   void kipc_clear_bit_unlock(nr, addr)        release: its unlock
 *   bool kipc_test_bit(nr, addr)                relaxed read
 *   bool kipc_test_bit_acquire(nr, addr)        acquire read
 *
 * Non-atomic (the caller excludes concurrent writers of the same word):
 *   kipc___set_bit  kipc___clear_bit  kipc___change_bit
 *   kipc___test_and_set_bit  kipc___test_and_clear_bit  kipc___test_and_change_bit
 *   kipc___clear_bit_unlock (release store of the whole word)
 *
 * Searching (size in bits; "not found" returns size):
 *   kipc_find_first_bit(addr, size)        kipc_find_next_bit(addr, size, offset)
 *   kipc_find_first_zero_bit(addr, size)   kipc_find_next_zero_bit(addr, size, offset)
 *   kipc_find_last_bit(addr, size)
 *   kipc_for_each_set_bit(bit, addr, size)   kipc_for_each_clear_bit(bit, addr, size)
 */
#ifndef KIPC_BITOPS_H
#define KIPC_BITOPS_H

#include <stdbool.h>
#include <kipc/atomic.h>

#define KIPC_BITS_PER_LONG     (8 * (int)sizeof(long))
#define KIPC_BIT(nr)           (1UL << (nr))
#define KIPC_BIT_MASK(nr)      (1UL << ((unsigned long)(nr) % KIPC_BITS_PER_LONG))
#define KIPC_BIT_WORD(nr)      ((unsigned long)(nr) / KIPC_BITS_PER_LONG)
#define KIPC_BITS_TO_LONGS(n)  (((n) + KIPC_BITS_PER_LONG - 1) / KIPC_BITS_PER_LONG)
#define KIPC_DECLARE_BITMAP(name, bits) unsigned long name[KIPC_BITS_TO_LONGS(bits)]

#define KIPC__BITWORD(nr, addr) ((addr) + KIPC_BIT_WORD(nr))

KIPC_INLINE void kipc_set_bit(long nr, volatile unsigned long *addr)
{
	__atomic_fetch_or(KIPC__BITWORD(nr, addr), KIPC_BIT_MASK(nr), __ATOMIC_RELAXED);
}

KIPC_INLINE void kipc_clear_bit(long nr, volatile unsigned long *addr)
{
	__atomic_fetch_and(KIPC__BITWORD(nr, addr), ~KIPC_BIT_MASK(nr), __ATOMIC_RELAXED);
}

KIPC_INLINE void kipc_change_bit(long nr, volatile unsigned long *addr)
{
	__atomic_fetch_xor(KIPC__BITWORD(nr, addr), KIPC_BIT_MASK(nr), __ATOMIC_RELAXED);
}

/* Fully ordered like every value-returning RMW; see kipc/atomic.h. */
KIPC_INLINE bool kipc_test_and_set_bit(long nr, volatile unsigned long *addr)
{
	unsigned long old = __atomic_fetch_or(KIPC__BITWORD(nr, addr),
					      KIPC_BIT_MASK(nr), __ATOMIC_SEQ_CST);
	kipc__rmw_full_fence();
	return old & KIPC_BIT_MASK(nr);
}

KIPC_INLINE bool kipc_test_and_clear_bit(long nr, volatile unsigned long *addr)
{
	unsigned long old = __atomic_fetch_and(KIPC__BITWORD(nr, addr),
					       ~KIPC_BIT_MASK(nr), __ATOMIC_SEQ_CST);
	kipc__rmw_full_fence();
	return old & KIPC_BIT_MASK(nr);
}

KIPC_INLINE bool kipc_test_and_change_bit(long nr, volatile unsigned long *addr)
{
	unsigned long old = __atomic_fetch_xor(KIPC__BITWORD(nr, addr),
					       KIPC_BIT_MASK(nr), __ATOMIC_SEQ_CST);
	kipc__rmw_full_fence();
	return old & KIPC_BIT_MASK(nr);
}

/*
 * Bit locks: taking the lock (the bit was clear) is an acquire, so the
 * critical section cannot float above it; the unlock is a release, so it
 * cannot float below.  Nothing stronger is needed for mutual exclusion.
 */
KIPC_INLINE bool kipc_test_and_set_bit_lock(long nr, volatile unsigned long *addr)
{
	return __atomic_fetch_or(KIPC__BITWORD(nr, addr), KIPC_BIT_MASK(nr),
				 __ATOMIC_ACQUIRE) & KIPC_BIT_MASK(nr);
}

KIPC_INLINE void kipc_clear_bit_unlock(long nr, volatile unsigned long *addr)
{
	__atomic_fetch_and(KIPC__BITWORD(nr, addr), ~KIPC_BIT_MASK(nr), __ATOMIC_RELEASE);
}

KIPC_INLINE bool kipc_test_bit(long nr, const volatile unsigned long *addr)
{
	return __atomic_load_n(KIPC__BITWORD(nr, addr), __ATOMIC_RELAXED) & KIPC_BIT_MASK(nr);
}

KIPC_INLINE bool kipc_test_bit_acquire(long nr, const volatile unsigned long *addr)
{
	return __atomic_load_n(KIPC__BITWORD(nr, addr), __ATOMIC_ACQUIRE) & KIPC_BIT_MASK(nr);
}

/* The non-atomic forms: plain read-modify-write of one word. */
KIPC_INLINE void kipc___set_bit(long nr, volatile unsigned long *addr)
{
	*KIPC__BITWORD(nr, addr) |= KIPC_BIT_MASK(nr);
}

KIPC_INLINE void kipc___clear_bit(long nr, volatile unsigned long *addr)
{
	*KIPC__BITWORD(nr, addr) &= ~KIPC_BIT_MASK(nr);
}

KIPC_INLINE void kipc___change_bit(long nr, volatile unsigned long *addr)
{
	*KIPC__BITWORD(nr, addr) ^= KIPC_BIT_MASK(nr);
}

KIPC_INLINE bool kipc___test_and_set_bit(long nr, volatile unsigned long *addr)
{
	unsigned long old = *KIPC__BITWORD(nr, addr);
	*KIPC__BITWORD(nr, addr) = old | KIPC_BIT_MASK(nr);
	return old & KIPC_BIT_MASK(nr);
}

KIPC_INLINE bool kipc___test_and_clear_bit(long nr, volatile unsigned long *addr)
{
	unsigned long old = *KIPC__BITWORD(nr, addr);
	*KIPC__BITWORD(nr, addr) = old & ~KIPC_BIT_MASK(nr);
	return old & KIPC_BIT_MASK(nr);
}

KIPC_INLINE bool kipc___test_and_change_bit(long nr, volatile unsigned long *addr)
{
	unsigned long old = *KIPC__BITWORD(nr, addr);
	*KIPC__BITWORD(nr, addr) = old ^ KIPC_BIT_MASK(nr);
	return old & KIPC_BIT_MASK(nr);
}

/*
 * Unlock of a bit lock when no one else can change the word meanwhile (the
 * other bits are owned by the lock holder): a release store, no RMW.
 */
KIPC_INLINE void kipc___clear_bit_unlock(long nr, volatile unsigned long *addr)
{
	unsigned long old = __atomic_load_n(KIPC__BITWORD(nr, addr), __ATOMIC_RELAXED);
	__atomic_store_n(KIPC__BITWORD(nr, addr), old & ~KIPC_BIT_MASK(nr), __ATOMIC_RELEASE);
}

unsigned long kipc_find_first_bit(const unsigned long *addr, unsigned long size);
unsigned long kipc_find_next_bit(const unsigned long *addr, unsigned long size,
				 unsigned long offset);
unsigned long kipc_find_first_zero_bit(const unsigned long *addr, unsigned long size);
unsigned long kipc_find_next_zero_bit(const unsigned long *addr, unsigned long size,
				      unsigned long offset);
unsigned long kipc_find_last_bit(const unsigned long *addr, unsigned long size);

#define kipc_for_each_set_bit(bit, addr, size)                               \
	for ((bit) = kipc_find_first_bit((addr), (size)); (bit) < (size);    \
	     (bit) = kipc_find_next_bit((addr), (size), (bit) + 1))

#define kipc_for_each_clear_bit(bit, addr, size)                             \
	for ((bit) = kipc_find_first_zero_bit((addr), (size)); (bit) < (size); \
	     (bit) = kipc_find_next_zero_bit((addr), (size), (bit) + 1))

#endif /* KIPC_BITOPS_H */
