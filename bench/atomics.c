// SPDX-License-Identifier: MIT
/*
 * Atomics: each kipc_atomic_* operation beside the C11 <stdatomic.h> one with
 * the same ordering, on one thread and on two threads hammering the same
 * cache line.  ns/op is the wall time over all operations of all threads (see
 * bench_threads()), so a contended row shows what the line's ping-pong does
 * to throughput.  There is no contended atomic_read row: two readers share a
 * line without contending for it.
 */
#include <stdatomic.h>

#include <kipc/atomic.h>
#include "bench.h"

/*
 * Both sides use the same counter, on a line of its own: two lines can
 * differ in cost (another L3 slice, another home), which would show as a
 * difference between the sides.  A repetition uses one member only.
 */
static union {
	kipc_atomic_t kipc;
	atomic_int c11;
} ctr __attribute__((aligned(64)));

/* Results are summed into here so that no load can be optimised away. */
static unsigned int sink __attribute__((aligned(64)));

/* A row's arg: the loops of its two sides. */
struct atomic_op {
	bench_thread_fn *kipc, *c11;
};

static void kipc_inc_loop(void *arg, unsigned int idx, uint64_t ops)
{
	kipc_atomic_t *v = arg;

	(void)idx;
	while (ops--)
		kipc_atomic_inc(v);
}

static void c11_inc_loop(void *arg, unsigned int idx, uint64_t ops)
{
	atomic_int *v = arg;

	(void)idx;
	while (ops--)
		atomic_fetch_add_explicit(v, 1, memory_order_relaxed);
}

static void kipc_add_return_loop(void *arg, unsigned int idx, uint64_t ops)
{
	kipc_atomic_t *v = arg;
	unsigned int sum = 0;

	(void)idx;
	while (ops--)
		sum += kipc_atomic_add_return(1, v);
	KIPC_WRITE_ONCE(sink, sum);
}

static void c11_add_return_loop(void *arg, unsigned int idx, uint64_t ops)
{
	atomic_int *v = arg;
	unsigned int sum = 0;

	(void)idx;
	while (ops--)
		sum += atomic_fetch_add(v, 1) + 1;
	KIPC_WRITE_ONCE(sink, sum);
}

/*
 * Each call counts, whether it stores or finds another thread's value; the
 * value found is the next expectation, as in a compare-exchange retry loop.
 */
static void kipc_cmpxchg_loop(void *arg, unsigned int idx, uint64_t ops)
{
	kipc_atomic_t *v = arg;
	int c = kipc_atomic_read(v), seen;

	(void)idx;
	while (ops--) {
		seen = kipc_atomic_cmpxchg(v, c, c + 1);
		c = seen == c ? c + 1 : seen;
	}
}

static void c11_cmpxchg_loop(void *arg, unsigned int idx, uint64_t ops)
{
	atomic_int *v = arg;
	int c = atomic_load_explicit(v, memory_order_relaxed);

	(void)idx;
	while (ops--) {
		if (atomic_compare_exchange_strong(v, &c, c + 1))
			c++;
	}
}

static void kipc_read_loop(void *arg, unsigned int idx, uint64_t ops)
{
	kipc_atomic_t *v = arg;
	unsigned int sum = 0;

	(void)idx;
	while (ops--)
		sum += kipc_atomic_read(v);
	KIPC_WRITE_ONCE(sink, sum);
}

static void c11_read_loop(void *arg, unsigned int idx, uint64_t ops)
{
	atomic_int *v = arg;
	unsigned int sum = 0;

	(void)idx;
	while (ops--)
		sum += atomic_load_explicit(v, memory_order_relaxed);
	KIPC_WRITE_ONCE(sink, sum);
}

/*
 * Every repetition starts the counter at 0: one repetition does far fewer
 * than INT_MAX operations, so the signed c + 1 above never overflows.
 */
static struct bench_result kipc_side(const struct bench_run *run)
{
	const struct atomic_op *op = run->arg;

	kipc_atomic_set(&ctr.kipc, 0);
	return bench_threads(run, op->kipc, &ctr.kipc);
}

static struct bench_result c11_side(const struct bench_run *run)
{
	const struct atomic_op *op = run->arg;

	atomic_store(&ctr.c11, 0);
	return bench_threads(run, op->c11, &ctr.c11);
}

static struct atomic_op inc_op = { kipc_inc_loop, c11_inc_loop };
static struct atomic_op add_return_op = { kipc_add_return_loop, c11_add_return_loop };
static struct atomic_op cmpxchg_op = { kipc_cmpxchg_loop, c11_cmpxchg_loop };
static struct atomic_op read_op = { kipc_read_loop, c11_read_loop };

#define ROW(name_, klabel, plabel, n, op) {				\
	.group = "atomics", .name = (name_), .threads = (n), .arg = &(op), \
	.kipc = BENCH_SIDE(klabel, kipc_side),				\
	.peer = BENCH_SIDE(plabel, c11_side) }

static const struct bench_row atomics_rows[] = {
	ROW("atomic_inc, 1 thread", "kipc_atomic_inc",
	    "atomic_fetch_add relaxed", 1, inc_op),
	ROW("atomic_add_return, 1 thread", "kipc_atomic_add_return",
	    "atomic_fetch_add seq_cst", 1, add_return_op),
	ROW("atomic_cmpxchg, 1 thread", "kipc_atomic_cmpxchg",
	    "atomic_compare_exchange_strong", 1, cmpxchg_op),
	ROW("atomic_read, 1 thread", "kipc_atomic_read",
	    "atomic_load relaxed", 1, read_op),
	ROW("atomic_inc, 2 threads 1 line", "kipc_atomic_inc",
	    "atomic_fetch_add relaxed", 2, inc_op),
	ROW("atomic_add_return, 2 threads 1 line", "kipc_atomic_add_return",
	    "atomic_fetch_add seq_cst", 2, add_return_op),
	ROW("atomic_cmpxchg, 2 threads 1 line", "kipc_atomic_cmpxchg",
	    "atomic_compare_exchange_strong", 2, cmpxchg_op),
};
BENCH_TABLE(atomics_rows);
