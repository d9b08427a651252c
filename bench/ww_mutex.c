// SPDX-License-Identifier: MIT
/*
 * Wait/wound mutexes: what deadlock avoidance costs.  A transaction locks 4
 * of 8 locks (a random choice each time), bumps a counter under each, and
 * unlocks.  Three ways: kipc ww_mutexes taken in a global order (never a
 * back-off), ww_mutexes taken in random order with the documented back-off
 * loop, and plain kipc mutexes in a global order (the reference: the only
 * deadlock-free way without ww).  ns/op is per transaction.
 */
#include <errno.h>
#include <stdlib.h>

#include <kipc/mutex.h>
#include <kipc/ww_mutex.h>
#include "bench.h"

#define NLOCKS 8
#define PER_TX 4

static KIPC_DEFINE_WW_CLASS(bench_ww_class);

struct tx_locks {
	struct kipc_ww_mutex ww[NLOCKS];
	struct kipc_mutex m[NLOCKS];
	unsigned long counter[NLOCKS];
	bool random_order;
};

/* PER_TX distinct locks; sorted unless the order is to be random. */
static void pick(unsigned int *seed, unsigned int *idx, bool sorted)
{
	unsigned int used = 0, k = 0;

	while (k < PER_TX) {
		unsigned int i = (unsigned int)rand_r(seed) % NLOCKS;

		if (!(used & (1u << i))) {
			used |= 1u << i;
			idx[k++] = i;
		}
	}
	if (sorted)
		for (k = 0; k < NLOCKS && used; k++)
			if (used & (1u << k)) {
				*idx++ = k;
				used &= ~(1u << k);
			}
}

static void ww_tx_thread(void *arg, unsigned int tidx, uint64_t ops)
{
	struct tx_locks *t = arg;
	unsigned int seed = tidx * 7919 + 1, idx[PER_TX], k;

	while (ops--) {
		struct kipc_ww_acquire_ctx ctx;
		bool held[PER_TX] = { false };

		pick(&seed, idx, !t->random_order);
		kipc_ww_acquire_init(&ctx, &bench_ww_class);
retry:
		for (k = 0; k < PER_TX; k++) {
			if (held[k])
				continue;
			if (kipc_ww_mutex_lock(&t->ww[idx[k]], &ctx) == -EDEADLK) {
				unsigned int j;

				for (j = 0; j < PER_TX; j++)
					if (held[j]) {
						kipc_ww_mutex_unlock(&t->ww[idx[j]]);
						held[j] = false;
					}
				kipc_ww_mutex_lock_slow(&t->ww[idx[k]], &ctx);
				held[k] = true;
				goto retry;
			}
			held[k] = true;
		}
		kipc_ww_acquire_done(&ctx);
		for (k = 0; k < PER_TX; k++)
			t->counter[idx[k]]++;
		for (k = 0; k < PER_TX; k++)
			kipc_ww_mutex_unlock(&t->ww[idx[k]]);
		kipc_ww_acquire_fini(&ctx);
	}
}

static void mutex_tx_thread(void *arg, unsigned int tidx, uint64_t ops)
{
	struct tx_locks *t = arg;
	unsigned int seed = tidx * 7919 + 1, idx[PER_TX], k;

	while (ops--) {
		pick(&seed, idx, true);
		for (k = 0; k < PER_TX; k++)
			kipc_mutex_lock(&t->m[idx[k]]);
		for (k = 0; k < PER_TX; k++)
			t->counter[idx[k]]++;
		for (k = 0; k < PER_TX; k++)
			kipc_mutex_unlock(&t->m[idx[k]]);
	}
}

static struct bench_result run_tx(const struct bench_run *run, bench_thread_fn *fn,
				  bool random_order)
{
	struct tx_locks *t = aligned_alloc(64, (sizeof(*t) + 63) / 64 * 64);
	struct bench_result r;
	unsigned int i;

	if (!t)
		return bench_failed("ww bench");
	for (i = 0; i < NLOCKS; i++) {
		kipc_ww_mutex_init(&t->ww[i], &bench_ww_class);
		kipc_mutex_init(&t->m[i]);
		t->counter[i] = 0;
	}
	t->random_order = random_order;
	r = bench_threads(run, fn, t);
	free(t);
	return r;
}

static struct bench_result ww_sorted(const struct bench_run *run)
{
	return run_tx(run, ww_tx_thread, false);
}

static struct bench_result ww_random(const struct bench_run *run)
{
	return run_tx(run, ww_tx_thread, true);
}

static struct bench_result mutex_sorted(const struct bench_run *run)
{
	return run_tx(run, mutex_tx_thread, false);
}

#define WW_ROWS(t)                                                            \
	{ "ww_mutex", "4 of 8 locks, global order, " #t " threads",            \
	  BENCH_SIDE("kipc_ww_mutex_lock", ww_sorted),                         \
	  BENCH_SIDE("kipc_mutex_lock, global order", mutex_sorted), t, NULL }, \
	{ "ww_mutex", "4 of 8 locks, random order, " #t " threads",            \
	  BENCH_SIDE("kipc_ww_mutex_lock + back-off", ww_random),              \
	  BENCH_SIDE("kipc_mutex_lock, global order", mutex_sorted), t, NULL }

static const struct bench_row ww_rows[] = {
	WW_ROWS(1),
	WW_ROWS(2),
	WW_ROWS(4),
};
BENCH_TABLE(ww_rows);
