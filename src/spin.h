/* SPDX-License-Identifier: MIT */
/*
 * Bounded spinning: how every kipc waiter that spins spends its time.
 *
 * A waiter first spins with the CPU's pause hint, re-reading the lock word
 * from its own cache (no bus traffic until the owner writes).  On a machine
 * with fewer cores than threads the thread it waits for may not be running
 * at all, and spinning only steals its CPU; so after KIPC__SPIN_YIELD_NS of
 * spinning the waiter calls sched_yield() at every step instead, which lets
 * a preempted holder run on this core.
 *
 * The clock is read every KIPC__SPIN_CLOCK_EVERY steps only: the vDSO clock
 * costs about as much as a cache miss, a pause a few tens of cycles.
 */
#ifndef KIPC_SPIN_H
#define KIPC_SPIN_H

#include <sched.h>
#include <stdint.h>
#include <time.h>
#include "arch.h"

#define KIPC__SPIN_YIELD_NS     50000
#define KIPC__SPIN_CLOCK_EVERY  16

struct kipc__spinwait {
	uint64_t start;		/* ns, CLOCK_MONOTONIC, when the wait began */
	uint64_t now;		/* ns, refreshed every KIPC__SPIN_CLOCK_EVERY steps */
	unsigned int steps;
};

static inline uint64_t kipc__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void kipc__spinwait_init(struct kipc__spinwait *w)
{
	w->start = w->now = kipc__now_ns();
	w->steps = 0;
}

/* Nanoseconds waited so far, as of the last clock reading. */
static inline uint64_t kipc__spinwait_elapsed(const struct kipc__spinwait *w)
{
	return w->now - w->start;
}

/* One step of waiting: pause while the spin budget lasts, then yield. */
static inline void kipc__spinwait_relax(struct kipc__spinwait *w)
{
	if (++w->steps % KIPC__SPIN_CLOCK_EVERY == 0)
		w->now = kipc__now_ns();
	if (kipc__spinwait_elapsed(w) < KIPC__SPIN_YIELD_NS)
		kipc__cpu_relax();
	else
		sched_yield();
}

#endif
