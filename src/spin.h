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
/*
 * How long an IPC waiter (pipe, queue, semaphore set) spins for its
 * partner before sleeping: about twice what a futex wake-up takes to get
 * a sleeper running again on a virtual machine, so that two processes
 * exchanging messages settle into spinning rather than waking each other
 * through the scheduler at every message.  All but the first
 * KIPC__IPC_PAUSE_NS of it is spent yielding.
 */
#define KIPC__IPC_SPIN_NS       100000
#define KIPC__IPC_PAUSE_NS      10000
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

/*
 * An IPC waiter's spin, with one budget of KIPC__IPC_SPIN_NS for the whole
 * wait, however many times it wakes to find its condition still false
 * (the partner's own step may change the word first):
 *
 *	struct kipc__ipc_spin sp = KIPC__IPC_SPIN_INIT;
 *	...lock; not yet: seen = *word; unlock;
 *	if (kipc__ipc_spin(&sp, word, seen)) continue;	// changed: retry
 *	...budget spent: announce yourself and sleep; then kipc__ipc_spin_reset()
 */
struct kipc__ipc_spin {
	struct kipc__spinwait sw;
	int state;		/* 0 not started, 1 spinning, 2 spent */
};

#define KIPC__IPC_SPIN_INIT { { 0, 0, 0 }, 0 }

/* true: *word moved from seen (retry); false: the budget is spent (sleep). */
static inline int kipc__ipc_spin(struct kipc__ipc_spin *s, const uint32_t *word, uint32_t seen)
{
	if (s->state == 2)
		return 0;
	if (s->state == 0) {
		kipc__spinwait_init(&s->sw);
		s->state = 1;
	}
	while (kipc__spinwait_elapsed(&s->sw) < KIPC__IPC_SPIN_NS) {
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != seen)
			return 1;
		/*
		 * Pause briefly, then yield: a partner sharing this CPU (more
		 * processes than CPUs) must get to run for the word to move.
		 */
		if (++s->sw.steps % KIPC__SPIN_CLOCK_EVERY == 0)
			s->sw.now = kipc__now_ns();
		if (kipc__spinwait_elapsed(&s->sw) < KIPC__IPC_PAUSE_NS)
			kipc__cpu_relax();
		else
			sched_yield();
	}
	/* One more look under the caller's lock before it sleeps. */
	s->state = 2;
	return 1;
}

static inline int kipc__ipc_spin_spent(const struct kipc__ipc_spin *s)
{
	return s->state == 2;
}

static inline void kipc__ipc_spin_reset(struct kipc__ipc_spin *s)
{
	s->state = 0;
}

#endif
