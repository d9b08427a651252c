// SPDX-License-Identifier: MIT
/*
 * Spinlocks and reader-writer spinlocks beside pthread_spinlock_t,
 * pthread_rwlock_t and Concurrency Kit's ticket and MCS locks (the strict
 * FIFO designs), through the common runners of lockbench.c: uncontended
 * lock+unlock pairs, then 2, 4 and 8 threads on one lock (8 oversubscribes
 * this machine's cores, where a preempted holder is the normal case).
 */
#include <pthread.h>
#include <stdlib.h>

#include <kipc/spinlock.h>
#include <kipc/rwlock.h>
#include "lockbench.h"
#ifdef HAVE_CK
#include <ck_spinlock.h>
#endif

static void *kipc_spin_create(void)
{
	kipc_spinlock_t *l = lock_alloc(sizeof(*l));

	if (l)
		kipc_spin_lock_init(l);
	return l;
}
static void kipc_spin_lock_cb(void *l) { kipc_spin_lock(l); }
static void kipc_spin_unlock_cb(void *l) { kipc_spin_unlock(l); }

static void *pthread_spin_create(void)
{
	pthread_spinlock_t *l = lock_alloc(sizeof(*l));

	if (l)
		pthread_spin_init(l, PTHREAD_PROCESS_PRIVATE);
	return (void *)l;	/* pthread_spinlock_t is a volatile int */
}
static void pthread_spin_lock_cb(void *l) { pthread_spin_lock(l); }
static void pthread_spin_unlock_cb(void *l) { pthread_spin_unlock(l); }

static void *kipc_rw_create(void)
{
	kipc_rwlock_t *l = lock_alloc(sizeof(*l));

	if (l)
		kipc_rwlock_init(l);
	return l;
}
static void kipc_write_lock_cb(void *l) { kipc_write_lock(l); }
static void kipc_write_unlock_cb(void *l) { kipc_write_unlock(l); }
static void kipc_read_lock_cb(void *l) { kipc_read_lock(l); }
static void kipc_read_unlock_cb(void *l) { kipc_read_unlock(l); }

static void *pthread_rw_create(void)
{
	pthread_rwlock_t *l = lock_alloc(sizeof(*l));

	if (l)
		pthread_rwlock_init(l, NULL);
	return l;
}
static void pthread_wrlock_cb(void *l) { pthread_rwlock_wrlock(l); }
static void pthread_rdlock_cb(void *l) { pthread_rwlock_rdlock(l); }
static void pthread_rwunlock_cb(void *l) { pthread_rwlock_unlock(l); }

static const struct lock_ops kipc_spin_ops = {
	kipc_spin_create, lock_free, kipc_spin_lock_cb, kipc_spin_unlock_cb, NULL, NULL,
};
static const struct lock_ops pthread_spin_ops = {
	pthread_spin_create, lock_free, pthread_spin_lock_cb, pthread_spin_unlock_cb, NULL, NULL,
};
static const struct lock_ops kipc_rw_ops = {
	kipc_rw_create, lock_free, kipc_write_lock_cb, kipc_write_unlock_cb,
	kipc_read_lock_cb, kipc_read_unlock_cb,
};
static const struct lock_ops pthread_rw_ops = {
	pthread_rw_create, lock_free, pthread_wrlock_cb, pthread_rwunlock_cb,
	pthread_rdlock_cb, pthread_rwunlock_cb,
};

#ifdef HAVE_CK
static void *ck_ticket_create(void)
{
	ck_spinlock_ticket_t *l = lock_alloc(sizeof(*l));

	if (l)
		ck_spinlock_ticket_init(l);
	return l;
}
static void ck_ticket_lock_cb(void *l) { ck_spinlock_ticket_lock(l); }
static void ck_ticket_unlock_cb(void *l) { ck_spinlock_ticket_unlock(l); }

/* MCS queues a node per waiter; a thread holds one lock at a time here. */
static __thread ck_spinlock_mcs_context_t mcs_node;

static void *ck_mcs_create(void)
{
	ck_spinlock_mcs_t *l = lock_alloc(sizeof(*l));

	if (l)
		ck_spinlock_mcs_init(l);
	return l;
}
static void ck_mcs_lock_cb(void *l) { ck_spinlock_mcs_lock(l, &mcs_node); }
static void ck_mcs_unlock_cb(void *l) { ck_spinlock_mcs_unlock(l, &mcs_node); }

static const struct lock_ops ck_ticket_ops = {
	ck_ticket_create, lock_free, ck_ticket_lock_cb, ck_ticket_unlock_cb, NULL, NULL,
};
static const struct lock_ops ck_mcs_ops = {
	ck_mcs_create, lock_free, ck_mcs_lock_cb, ck_mcs_unlock_cb, NULL, NULL,
};
#endif

static const struct lock_row kipc_spin = { &kipc_spin_ops, 0 };
static const struct lock_row pthread_spin = { &pthread_spin_ops, 0 };
static const struct lock_row kipc_rw_read10 = { &kipc_rw_ops, 10 };
static const struct lock_row pthread_rw_read10 = { &pthread_rw_ops, 10 };
static const struct lock_row kipc_rw_write2 = { &kipc_rw_ops, 2 };
static const struct lock_row pthread_rw_write2 = { &pthread_rw_ops, 2 };
#ifdef HAVE_CK
static const struct lock_row ck_ticket = { &ck_ticket_ops, 0 };
static const struct lock_row ck_mcs = { &ck_mcs_ops, 0 };
#define CK_ARG(x) (void *)&(x)
#else
#define CK_ARG(x) NULL
#endif

/*
 * The uncontended and pthread rows pass their lock_row through .arg; kipc
 * and its peer need different locks, so each side gets a wrapper that
 * substitutes its own row.
 */
#define SIDE_FN(name, rowvar, runner)                                          \
	static struct bench_result name(const struct bench_run *run)          \
	{                                                                      \
		struct bench_run r = *run;                                     \
		r.arg = (void *)&(rowvar);                                     \
		return runner(&r);                                             \
	}

SIDE_FN(kipc_spin_1, kipc_spin, lock_uncontended)
SIDE_FN(pthread_spin_1, pthread_spin, lock_uncontended)
SIDE_FN(kipc_spin_n, kipc_spin, lock_contended)
SIDE_FN(pthread_spin_n, pthread_spin, lock_contended)
SIDE_FN(control_n, lock_control, lock_contended)
SIDE_FN(kipc_rw_1, kipc_rw_read10, lock_uncontended)
SIDE_FN(pthread_rw_1, pthread_rw_read10, lock_uncontended)
SIDE_FN(kipc_rw_read_n, kipc_rw_read10, lock_contended)
SIDE_FN(pthread_rw_read_n, pthread_rw_read10, lock_contended)
SIDE_FN(kipc_rw_write_n, kipc_rw_write2, lock_contended)
SIDE_FN(pthread_rw_write_n, pthread_rw_write2, lock_contended)
#ifdef HAVE_CK
SIDE_FN(ck_ticket_1, ck_ticket, lock_uncontended)
SIDE_FN(ck_ticket_n, ck_ticket, lock_contended)
SIDE_FN(ck_mcs_1, ck_mcs, lock_uncontended)
SIDE_FN(ck_mcs_n, ck_mcs, lock_contended)
#endif

#define SPIN_ROWS(t)                                                          \
	{ "spinlock", "lock+unlock, " #t " threads",                          \
	  BENCH_SIDE("kipc_spin_lock", kipc_spin_n),                           \
	  BENCH_SIDE("pthread_spin_lock", pthread_spin_n), t, NULL },          \
	{ "spinlock", "lock+unlock, " #t " threads",                          \
	  BENCH_SIDE("kipc_spin_lock", kipc_spin_n),                           \
	  BENCH_SIDE_CK("ck_spinlock_ticket", ck_ticket_n), t, NULL },         \
	{ "spinlock", "lock+unlock, " #t " threads",                          \
	  BENCH_SIDE("kipc_spin_lock", kipc_spin_n),                           \
	  BENCH_SIDE_CK("ck_spinlock_mcs", ck_mcs_n), t, NULL },        \
	{ "spinlock", "lock+unlock, " #t " threads",                          \
	  BENCH_SIDE("kipc_spin_lock", kipc_spin_n),                           \
	  BENCH_SIDE("no lock (control)", control_n), t, NULL }

#define RW_ROWS(t)                                                            \
	{ "rwlock", "90% read, " #t " threads",                                \
	  BENCH_SIDE("kipc_read/write_lock", kipc_rw_read_n),                  \
	  BENCH_SIDE("pthread_rwlock", pthread_rw_read_n), t, NULL },          \
	{ "rwlock", "50% write, " #t " threads",                               \
	  BENCH_SIDE("kipc_read/write_lock", kipc_rw_write_n),                 \
	  BENCH_SIDE("pthread_rwlock", pthread_rw_write_n), t, NULL }

static const struct bench_row spinlock_rows[] = {
	{ "spinlock", "lock+unlock, 1 thread",
	  BENCH_SIDE("kipc_spin_lock", kipc_spin_1),
	  BENCH_SIDE("pthread_spin_lock", pthread_spin_1), 1, NULL },
	{ "spinlock", "lock+unlock, 1 thread",
	  BENCH_SIDE("kipc_spin_lock", kipc_spin_1),
	  BENCH_SIDE_CK("ck_spinlock_ticket", ck_ticket_1), 1, NULL },
	{ "spinlock", "lock+unlock, 1 thread",
	  BENCH_SIDE("kipc_spin_lock", kipc_spin_1),
	  BENCH_SIDE_CK("ck_spinlock_mcs", ck_mcs_1), 1, NULL },
	SPIN_ROWS(2),
	SPIN_ROWS(4),
	SPIN_ROWS(8),
	{ "rwlock", "write lock+unlock, 1 thread",
	  BENCH_SIDE("kipc_write_lock", kipc_rw_1),
	  BENCH_SIDE("pthread_rwlock_wrlock", pthread_rw_1), 1, NULL },
	RW_ROWS(2),
	RW_ROWS(4),
	RW_ROWS(8),
};
BENCH_TABLE(spinlock_rows);
