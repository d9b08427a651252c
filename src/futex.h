/* SPDX-License-Identifier: MIT */
/*
 * The futex(2) wrapper every sleeping kipc primitive uses.
 *
 *   kipc__futex_wait(uaddr, val, ts, flags)
 *     sleeps while *uaddr == val.  ts NULL waits for ever; otherwise it is a
 *     relative CLOCK_MONOTONIC interval, or, with KIPC__FUTEX_ABS, an absolute
 *     time on CLOCK_MONOTONIC (or CLOCK_REALTIME with KIPC__FUTEX_REALTIME).
 *     Returns 0 when woken (or spuriously: callers re-check their condition),
 *     -EAGAIN if *uaddr != val on entry, -ETIMEDOUT, -EINTR when a signal
 *     handler ran (reported, never retried here: the caller decides whether
 *     its wait is interruptible).
 *   kipc__futex_wake(uaddr, n, flags)
 *     wakes up to n waiters (INT_MAX: all); returns how many it woke.
 *   kipc__futex_bump_wake(uaddr)
 *     for a process-shared sequence word: change it (so that a sleeper
 *     about to wait on the old value returns at once), then wake everyone
 *     asleep on it.
 *
 * KIPC__FUTEX_SHARED selects a process-shared futex (keyed by the physical
 * page, so it works in shared memory mapped at different addresses);
 * without it the futex is private to the process, which is cheaper for the
 * kernel to hash.
 */
#ifndef KIPC_FUTEX_H
#define KIPC_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
	KIPC__FUTEX_SHARED   = 1 << 0,
	KIPC__FUTEX_ABS      = 1 << 1,
	KIPC__FUTEX_REALTIME = 1 << 2,
};

static inline int kipc__futex_op(int op, int flags)
{
	return (flags & KIPC__FUTEX_SHARED) ? op : op | FUTEX_PRIVATE_FLAG;
}

static inline int kipc__futex_wait(uint32_t *uaddr, uint32_t val,
				   const struct timespec *ts, int flags)
{
	long r;

	if (flags & KIPC__FUTEX_ABS) {
		/* Only WAIT_BITSET takes an absolute timeout. */
		int op = FUTEX_WAIT_BITSET;

		if (flags & KIPC__FUTEX_REALTIME)
			op |= FUTEX_CLOCK_REALTIME;
		r = syscall(SYS_futex, uaddr, kipc__futex_op(op, flags), val, ts,
			    NULL, FUTEX_BITSET_MATCH_ANY);
	} else {
		r = syscall(SYS_futex, uaddr, kipc__futex_op(FUTEX_WAIT, flags),
			    val, ts, NULL, 0);
	}
	return r < 0 ? -errno : 0;
}

/*
 * The bitset forms: a waiter sleeps with a set of bits and a wake names the
 * bits it is for, so one futex word can carry separate queues (the mutex
 * wakes its starving waiters apart from the others).  ts is absolute
 * (CLOCK_MONOTONIC) or NULL.
 */
static inline int kipc__futex_wait_bitset(uint32_t *uaddr, uint32_t val,
					  const struct timespec *ts, uint32_t bits,
					  int flags)
{
	long r = syscall(SYS_futex, uaddr, kipc__futex_op(FUTEX_WAIT_BITSET, flags),
			 val, ts, NULL, bits);

	return r < 0 ? -errno : 0;
}

static inline int kipc__futex_wake_bitset(uint32_t *uaddr, int n, uint32_t bits, int flags)
{
	long r = syscall(SYS_futex, uaddr, kipc__futex_op(FUTEX_WAKE_BITSET, flags),
			 n, NULL, NULL, bits);

	return r < 0 ? -errno : (int)r;
}

static inline int kipc__futex_wake(uint32_t *uaddr, int n, int flags)
{
	long r = syscall(SYS_futex, uaddr, kipc__futex_op(FUTEX_WAKE, flags),
			 n, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

static inline void kipc__futex_bump_wake(uint32_t *uaddr)
{
	/* Seq_cst: ordered after what the sleepers wait for, before the wake. */
	__atomic_fetch_add(uaddr, 1, __ATOMIC_SEQ_CST);
	kipc__futex_wake(uaddr, INT_MAX, KIPC__FUTEX_SHARED);
}

#endif
