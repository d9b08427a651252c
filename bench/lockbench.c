// SPDX-License-Identifier: MIT
/*
 * The shared lock runners; see lockbench.h.
 *
 * The critical section increments a plain counter and the shared budget:
 * a short section, as kernel spinlocks protect, so the figures are the
 * lock's own cost and its cache-line hand-over.  Between acquisitions a
 * thread does a few dozen cycles of private work, as real code does, which
 * gives a waiting thread a chance to take the lock: without it a lock that
 * lets its holder re-take it at once shows perfect throughput and no
 * fairness at all.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <kipc/barrier.h>
#include "arch.h"
#include "lockbench.h"

#define LINE 64
/* No contended repetition runs longer than this. */
#define LOCK_RUN_MAX_NS (200 * 1000 * 1000ull)

struct lock_shared {
	void *lock;
	const struct lock_row *row;
	int64_t budget __attribute__((aligned(LINE)));	/* acquisitions left */
	uint64_t deadline;	/* bench_now_ns() after which to stop early */
	uint64_t counter;				/* the protected data */
	struct lock_thread {
		uint64_t count;
		uint64_t max_wait;	/* in kipc__cycles() units */
	} __attribute__((aligned(LINE))) *threads;
};

void *lock_alloc(size_t size)
{
	return aligned_alloc(LINE, (size + LINE - 1) / LINE * LINE);
}

void lock_free(void *lock)
{
	free(lock);
}

/* Private work between acquisitions: a few dozen cycles nobody can skip. */
static void think(unsigned int n)
{
	while (n--)
		kipc_barrier();
}

static void contend(void *arg, unsigned int idx, uint64_t ops)
{
	struct lock_shared *s = arg;
	const struct lock_ops *lo = s->row->ops;
	unsigned int every = s->row->write_every;
	struct lock_thread *me = &s->threads[idx];
	uint64_t n = 0, worst = 0;

	(void)ops;	/* the shared budget decides */
	for (;;) {
		bool write = !lo->read_lock || every <= 1 || (n + idx) % every == 0;
		uint64_t t0 = kipc__cycles(), wait;
		int64_t left;

		/* The control (no lock) takes the shared budget alone. */
		if (lo->lock && write)
			lo->lock(s->lock);
		else if (lo->lock)
			lo->read_lock(s->lock);
		wait = kipc__cycles() - t0;
		if (wait > worst)
			worst = wait;
		/*
		 * Readers share the section, so the budget is an atomic; the
		 * counter is written only by writers, as a rwlock allows.
		 */
		left = __atomic_sub_fetch(&s->budget, 1, __ATOMIC_RELAXED);
		if (lo->lock && write) {
			s->counter++;
			lo->unlock(s->lock);
		} else if (lo->lock) {
			lo->read_unlock(s->lock);
		}
		if (left < 0)
			break;
		/*
		 * A strict FIFO lock on an oversubscribed machine may hand over
		 * only once per time slice: stop at the deadline rather than
		 * run for minutes, and report what was done.
		 */
		if (++n % 64 == 0 && bench_now_ns() > s->deadline)
			__atomic_store_n(&s->budget, 0, __ATOMIC_RELAXED);
		think(32);
	}
	me->count = n;
	me->max_wait = worst;
}

/*
 * The control of the contended rows: the same loop, budget and think time
 * with no lock, so that its fairness is what the machine itself gives
 * threads that all want the same cache line (on a VM whose virtual CPUs
 * run at different speeds, or with more threads than CPUs, far from 1).
 */
static void *no_lock_create(void)
{
	return lock_alloc(1);
}

static const struct lock_ops no_lock_ops = { no_lock_create, lock_free, NULL, NULL, NULL, NULL };
const struct lock_row lock_control = { &no_lock_ops, 0 };

struct bench_result lock_contended(const struct bench_run *run)
{
	const struct lock_row *row = run->arg;
	unsigned int n = run->threads, i;
	struct lock_shared *s = aligned_alloc(LINE, sizeof(*s));
	struct bench_result r;
	uint64_t c0, c1, t0, t1, lo = UINT64_MAX, hi = 0, worst = 0;

	if (!s)
		return bench_failed("lock_contended");
	*s = (struct lock_shared){ .row = row, .lock = row->ops->create(),
				   /* At least one each: a budget of 0 would time nothing. */
				   .budget = (int64_t)(run->iters < n ? n : run->iters / n * n),
				   .deadline = bench_now_ns() + LOCK_RUN_MAX_NS };
	s->threads = aligned_alloc(LINE, sizeof(*s->threads) * n);
	if (!s->lock || !s->threads) {
		free(s->threads);
		free(s);
		return bench_failed("lock_contended");
	}
	t0 = bench_now_ns();
	c0 = kipc__cycles();
	r = bench_threads(run, contend, s);
	c1 = kipc__cycles();
	t1 = bench_now_ns();
	for (i = 0; i < n; i++) {
		if (s->threads[i].count < lo)
			lo = s->threads[i].count;
		if (s->threads[i].count > hi)
			hi = s->threads[i].count;
		if (s->threads[i].max_wait > worst)
			worst = s->threads[i].max_wait;
	}
	if (r.ns_per_op >= 0) {
		uint64_t done = 0;

		for (i = 0; i < n; i++)
			done += s->threads[i].count;
		r.ns_per_op = done ? (double)(t1 - t0) / (double)done : -1;
		r.fairness = hi ? (double)lo / (double)hi : 0;
		/* Cycles to ns by this run's own ratio of the two clocks. */
		r.max_wait_ns = c1 > c0 ? (double)worst * (double)(t1 - t0) / (double)(c1 - c0) : 0;
	}
	row->ops->destroy(s->lock);
	free(s->threads);
	free(s);
	return r;
}

static void pairs(void *arg, unsigned int idx, uint64_t ops)
{
	const struct lock_shared *s = arg;

	(void)idx;
	while (ops--) {
		s->row->ops->lock(s->lock);
		s->row->ops->unlock(s->lock);
	}
}

struct bench_result lock_uncontended(const struct bench_run *run)
{
	const struct lock_row *row = run->arg;
	struct lock_shared s = { .row = row, .lock = row->ops->create() };
	struct bench_result r;

	if (!s.lock)
		return bench_failed("lock_uncontended");
	r = bench_threads(run, pairs, &s);
	row->ops->destroy(s.lock);
	return r;
}
