/* SPDX-License-Identifier: MIT */
/*
 * bench/bench.h - the benchmark harness API (see docs/benchmarks.md).
 *
 * A row puts a kipc measurement beside its counterpart (the kernel's, pthread,
 * C11, liburcu or ck), both measured in the same run; a floor row has a
 * single measurement, the physical limit other rows are read against.
 * Each bench/<family>.c defines its rows in one array and registers it:
 *
 *	static const struct bench_row mutex_rows[] = {
 *		{ .group = "mutex", .name = "lock+unlock uncontended",
 *		  .kipc = BENCH_SIDE("kipc_mutex_lock", kipc_lock_1),
 *		  .peer = BENCH_SIDE("pthread_mutex_lock", pthread_lock_1) },
 *		...
 *	};
 *	BENCH_TABLE(mutex_rows);
 *
 * A measurement function runs ONE repetition of run->iters operations (all
 * threads together) and returns the time per operation; the harness picks
 * iters, repeats, interleaves kipc and peer repetitions and reports medians.
 */
#ifndef KIPC_BENCH_H
#define KIPC_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A figure a row does not measure: fairness and longest wait by default. */
#define BENCH_NA (-1.0)

struct bench_result {
	double ns_per_op;	/* < 0: the repetition failed, reason on stderr */
	double fairness;	/* min/max operations done per thread, or BENCH_NA */
	double max_wait_ns;	/* longest single wait of any thread, or BENCH_NA */
};

struct bench_run {
	uint64_t iters;		/* operations to time, all threads together */
	unsigned int threads;	/* the row's thread count, at least 1 */
	void *arg;		/* the row's arg */
};

typedef struct bench_result bench_fn(const struct bench_run *run);

struct bench_side {
	const char *label;	/* what is measured: "kipc_mutex_lock" */
	bench_fn *fn;		/* NULL: the peer library is not compiled in, */
	const char *missing;	/* ... and this package provides it */
};

struct bench_row {
	const char *group;	/* "atomics", "mutex", "pipe", "floor", ... */
	const char *name;	/* "atomic_inc uncontended" */
	struct bench_side kipc;	/* a floor row's only measurement */
	struct bench_side peer;	/* label NULL: a floor row, no ratio */
	unsigned int threads;	/* 0 counts as 1 */
	void *arg;		/* passed to both functions in bench_run */
};

#define BENCH_SIDE(label, fn) { (label), (fn), 0 }

/*
 * Peers from optional libraries.  Without the library the function is never
 * named (it is compiled out with its #ifdef), and the row still prints, saying
 * which package to install.
 */
#ifdef HAVE_CK
#define BENCH_SIDE_CK(label, fn) BENCH_SIDE(label, fn)
#else
#define BENCH_SIDE_CK(label, fn) { (label), 0, "libck-dev" }
#endif
#ifdef HAVE_URCU
#define BENCH_SIDE_URCU(label, fn) BENCH_SIDE(label, fn)
#else
#define BENCH_SIDE_URCU(label, fn) { (label), 0, "liburcu-dev" }
#endif

#ifdef HAVE_BOOST
#define BENCH_SIDE_BOOST(label, fn) BENCH_SIDE(label, fn)
#else
#define BENCH_SIDE_BOOST(label, fn) { (label), 0, "libboost-dev" }
#endif

struct bench_table {
	const struct bench_row *rows;
	unsigned int n;
	struct bench_table *next;
};

void bench_register(struct bench_table *table);

/* Registers rows[] before main() runs: no central list of families. */
#define BENCH_TABLE(rows)						\
	static struct bench_table bench_table_##rows = {		\
		(rows), sizeof(rows) / sizeof((rows)[0]), 0 };		\
	__attribute__((constructor)) static void bench_register_##rows(void) \
	{								\
		bench_register(&bench_table_##rows);			\
	}

/*
 * The floors (bench/floor.c), also the peers of the rows read against them
 * ("... vs the floor"), so that the ratio comes from interleaved
 * repetitions of the same run: a 1-byte round trip of two processes
 * spinning on one cache line (the cache-line floor, which pipes and
 * message queues are held to), and the same spinning 5 us, then sleeping
 * on a futex (the practical floor of a wake-up: semaphores, completions).
 */
bench_fn bench_floor_spin, bench_floor_adaptive;
#define BENCH_SIDE_FLOOR BENCH_SIDE("floor: spin then futex", bench_floor_adaptive)
#define BENCH_SIDE_LINE_FLOOR BENCH_SIDE("floor: cache line", bench_floor_spin)

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/*
 * Pins the calling thread to the idx-th CPU the process may use (modulo
 * their number), so that threads or processes 0 and 1 of a measurement run
 * side by side on two CPUs instead of taking turns on one; bench_unpin()
 * gives the calling thread back every CPU.  Failure only leaves it unpinned.
 */
void bench_pin(unsigned int idx);
void bench_unpin(void);

/*
 * The other process of a two-process row: bench_fork(cpu) forks a child
 * that dies with its parent and runs pinned to CPU cpu (it returns 0 in the
 * child, as fork); bench_reap(pid, ok) waits for it, killing it first if
 * !ok, and is true if ok and the child exited with status 0.
 */
pid_t bench_fork(unsigned int cpu);
bool bench_reap(pid_t pid, bool ok);

/* Results: a time alone, or a failure after reporting what failed (errno). */
struct bench_result bench_ns(double ns_per_op);
struct bench_result bench_failed(const char *what);

/*
 * Runs fn(arg, idx, ops) once on each of run->threads threads, idx
 * 0..threads-1, each pinned with bench_pin(idx), with ops = run->iters /
 * threads, all released together from a start barrier.  ns_per_op is the
 * wall time from the release to the last thread's finish, divided by the
 * operations of all threads: the inverse of throughput.  A caller measuring
 * fairness or waits fills those in from its own arg, indexed by idx.
 */
typedef void bench_thread_fn(void *arg, unsigned int idx, uint64_t ops);
struct bench_result bench_threads(const struct bench_run *run,
				  bench_thread_fn *fn, void *arg);

#endif /* KIPC_BENCH_H */
