/* SPDX-License-Identifier: MIT */
/*
 * bench/lockbench.h - one way of measuring every lock, so that a kipc lock
 * and its peer are timed by the same loop.
 *
 * A lock is described by struct lock_ops (callbacks on an opaque lock).
 * lock_uncontended() times lock+unlock pairs on one thread.
 * lock_contended() runs run->threads threads that share a budget of
 * run->iters acquisitions, taken inside the critical section: each thread
 * keeps acquiring until the budget is spent, so a lock that favours some
 * threads shows it in the per-thread counts.  It reports the throughput
 * (wall time per acquisition), the fairness (fewest / most acquisitions of
 * any thread) and the longest single wait for the lock.  A read_every of n
 * makes every n-th acquisition of a reader-writer lock a write and the rest
 * reads (0: all writes).
 */
#ifndef KIPC_LOCKBENCH_H
#define KIPC_LOCKBENCH_H

#include <stddef.h>

#include "bench.h"

struct lock_ops {
	void *(*create)(void);
	void (*destroy)(void *lock);
	void (*lock)(void *lock);
	void (*unlock)(void *lock);
	void (*read_lock)(void *lock);		/* NULL for exclusive locks */
	void (*read_unlock)(void *lock);
};

/* A row's arg for the contended runner: which lock, which mix. */
struct lock_row {
	const struct lock_ops *ops;
	unsigned int write_every;	/* 0 or 1: all writes; n: 1 write in n */
};

/* Locks for the ops' create/destroy: each on a cache line of its own. */
void *lock_alloc(size_t size);
void lock_free(void *lock);

/* No lock at all (lock NULL), for lock_contended() only: the control row. */
extern const struct lock_row lock_control;

struct bench_result lock_uncontended(const struct bench_run *run);
struct bench_result lock_contended(const struct bench_run *run);

#endif
