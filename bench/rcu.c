// SPDX-License-Identifier: MIT
/*
 * RCU beside liburcu's memb (membarrier, registered readers), qsbr
 * (quiescent-state based: the fastest readers, which must announce
 * quiescent states) and bp (registration-free "bulletproof") flavours, all
 * with liburcu's inlined read side (_LGPL_SOURCE), and pthread_rwlock_t read
 * locking for scale:
 *   - the read-side pair (lock, dereference, unlock) on one thread;
 *   - reads while an updater replaces the object and waits for grace
 *     periods, 1 and 2 readers (ns per read);
 *   - synchronize_rcu latency while a reader runs on the other CPU, and
 *     while a registered reader thread sleeps outside any section;
 *   - call_rcu: queueing callbacks and waiting for them (ns per callback).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <kipc/rcu.h>
#include "bench.h"
#ifdef HAVE_URCU
#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>
#include <urcu/urcu-qsbr.h>
#include <urcu/urcu-bp.h>
#endif

struct obj {
	long value;
	struct kipc_rcu_head kh;
#ifdef HAVE_URCU
	struct rcu_head uh;
#endif
};

/* A flavour: how its readers and updaters do each step. */
struct flavour {
	void (*reader_start)(void);
	void (*reader_stop)(void);
	void (*read_lock)(void);
	void (*read_unlock)(void);
	void (*quiescent)(void);	/* qsbr: between read sections */
	void (*synchronize)(void);
	void (*call)(struct obj *o);
	void (*barrier)(void);
};

static struct obj *gptr;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static long sink;

static void nothing(void) { }

static void kipc_read_lock_cb(void) { kipc_rcu_read_lock(); }
static void kipc_read_unlock_cb(void) { kipc_rcu_read_unlock(); }
static void kipc_free_cb(struct kipc_rcu_head *h) { free(kipc_container_of(h, struct obj, kh)); }
static void kipc_call_cb(struct obj *o) { kipc_call_rcu(&o->kh, kipc_free_cb); }

static const struct flavour kipc_flavour = {
	nothing, nothing, kipc_read_lock_cb, kipc_read_unlock_cb, NULL,
	kipc_synchronize_rcu, kipc_call_cb, kipc_rcu_barrier,
};

static void rw_rdlock(void) { pthread_rwlock_rdlock(&rwlock); }
static void rw_unlock(void) { pthread_rwlock_unlock(&rwlock); }
/* A writer holding the lock excludes every reader: its "grace period". */
static void rw_writer_sync(void)
{
	pthread_rwlock_wrlock(&rwlock);
	pthread_rwlock_unlock(&rwlock);
}

static const struct flavour rwlock_flavour = {
	nothing, nothing, rw_rdlock, rw_unlock, NULL, rw_writer_sync, NULL, NULL,
};

#ifdef HAVE_URCU
static void memb_lock(void) { urcu_memb_read_lock(); }
static void memb_unlock(void) { urcu_memb_read_unlock(); }
static void memb_free_cb(struct rcu_head *h) { free(caa_container_of(h, struct obj, uh)); }
static void memb_call_one(struct obj *o) { urcu_memb_call_rcu(&o->uh, memb_free_cb); }

static const struct flavour memb_flavour = {
	urcu_memb_register_thread, urcu_memb_unregister_thread, memb_lock, memb_unlock,
	NULL, urcu_memb_synchronize_rcu, memb_call_one, urcu_memb_barrier,
};

static void qsbr_lock(void) { urcu_qsbr_read_lock(); }
static void qsbr_unlock(void) { urcu_qsbr_read_unlock(); }
static void qsbr_quiescent(void) { urcu_qsbr_quiescent_state(); }

static const struct flavour qsbr_flavour = {
	urcu_qsbr_register_thread, urcu_qsbr_unregister_thread, qsbr_lock, qsbr_unlock,
	qsbr_quiescent, urcu_qsbr_synchronize_rcu, NULL, NULL,
};

static void bp_lock(void) { urcu_bp_read_lock(); }
static void bp_unlock(void) { urcu_bp_read_unlock(); }
/* bp's call_rcu cannot be declared beside memb's in one file: not measured. */
static const struct flavour bp_flavour = {
	nothing, nothing, bp_lock, bp_unlock, NULL, urcu_bp_synchronize_rcu, NULL, NULL,
};
#endif

/* One read section: lock, follow the pointer, unlock. */
static long read_once(const struct flavour *f)
{
	long v;

	f->read_lock();
	v = __atomic_load_n(&gptr, __ATOMIC_CONSUME)->value;
	f->read_unlock();
	if (f->quiescent)
		f->quiescent();
	return v;
}

static void publish_first(void)
{
	struct obj *o = calloc(1, sizeof(*o));

	__atomic_store_n(&gptr, o, __ATOMIC_RELEASE);
}

/* ---- the read-side pair ---- */

/*
 * One loop per flavour, so that each inline read side is inlined into its
 * loop, as in a real reader: through a function pointer the call would
 * cost more than the pair.
 */
#define PAIR_LOOP(name, start, stop, lock, unlock)                             \
	static void name(void *arg, unsigned int idx, uint64_t ops)            \
	{                                                                      \
		long sum = 0;                                                  \
                                                                               \
		(void)arg;                                                     \
		(void)idx;                                                     \
		start;                                                         \
		while (ops--) {                                                \
			lock;                                                  \
			sum += __atomic_load_n(&gptr, __ATOMIC_CONSUME)->value; \
			unlock;                                                \
		}                                                              \
		stop;                                                          \
		__atomic_fetch_add(&sink, sum, __ATOMIC_RELAXED);              \
	}

PAIR_LOOP(kipc_pair_loop, (void)0, (void)0, kipc_rcu_read_lock(), kipc_rcu_read_unlock())
PAIR_LOOP(rw_pair_loop, (void)0, (void)0, pthread_rwlock_rdlock(&rwlock),
	  pthread_rwlock_unlock(&rwlock))
#ifdef HAVE_URCU
PAIR_LOOP(memb_pair_loop, urcu_memb_register_thread(), urcu_memb_unregister_thread(),
	  urcu_memb_read_lock(), urcu_memb_read_unlock())
PAIR_LOOP(qsbr_pair_loop, urcu_qsbr_register_thread(), urcu_qsbr_unregister_thread(),
	  urcu_qsbr_read_lock(), urcu_qsbr_read_unlock())
PAIR_LOOP(bp_pair_loop, (void)0, (void)0, urcu_bp_read_lock(), urcu_bp_read_unlock())
#endif

/* ---- reads under updates: thread 0 updates, threads 1..n-1 read ---- */

struct mixed {
	const struct flavour *f;
	unsigned int readers_left;
	bool idle;	/* sync_thread: the reader reads once, then sleeps */
};

static void mixed_thread(void *arg, unsigned int idx, uint64_t ops)
{
	struct mixed *m = arg;
	const struct flavour *f = m->f;

	if (idx == 0) {
		/* The updater: replace, wait for readers, free; until done. */
		while (__atomic_load_n(&m->readers_left, __ATOMIC_ACQUIRE)) {
			struct obj *o = calloc(1, sizeof(*o)), *old;

			if (f == &rwlock_flavour)
				pthread_rwlock_wrlock(&rwlock);
			old = __atomic_exchange_n(&gptr, o, __ATOMIC_ACQ_REL);
			if (f == &rwlock_flavour)
				pthread_rwlock_unlock(&rwlock);
			else
				f->synchronize();
			free(old);
		}
		return;
	}
	f->reader_start();
	while (ops--)
		__atomic_fetch_add(&sink, read_once(f), __ATOMIC_RELAXED);
	f->reader_stop();
	__atomic_fetch_sub(&m->readers_left, 1, __ATOMIC_RELEASE);
}

static struct bench_result mixed(const struct bench_run *run, const struct flavour *f)
{
	struct mixed m = { f, run->threads - 1, false };
	struct bench_result r = bench_threads(run, mixed_thread, &m);

	/* bench_threads counts every thread's ops; only the readers read. */
	if (r.ns_per_op > 0)
		r.ns_per_op = r.ns_per_op * run->threads / (run->threads - 1);
	return r;
}

/* ---- synchronize_rcu latency: thread 0 synchronizes, thread 1 reads ---- */

static void sync_thread(void *arg, unsigned int idx, uint64_t ops)
{
	struct mixed *m = arg;
	const struct flavour *f = m->f;

	if (idx == 0) {
		/* Thread 1's ops are its reads; thread 0 does the same count. */
		while (ops--)
			f->synchronize();
		__atomic_store_n(&m->readers_left, 0, __ATOMIC_RELEASE);
		return;
	}
	f->reader_start();
	while (__atomic_load_n(&m->readers_left, __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&sink, read_once(f), __ATOMIC_RELAXED);
		if (m->idle) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
	f->reader_stop();
}

static struct bench_result sync_latency(const struct bench_run *run, const struct flavour *f,
					bool idle)
{
	struct mixed m = { f, 1, idle };
	struct bench_run r2 = *run;
	struct bench_result r;

	r2.threads = 2;
	r2.iters = run->iters * 2;	/* so that thread 0 gets iters */
	r = bench_threads(&r2, sync_thread, &m);
	if (r.ns_per_op > 0)
		r.ns_per_op *= 2;	/* per synchronize, not per op of both */
	return r;
}

/* ---- call_rcu: queue callbacks that free, then wait for all ---- */

static void call_thread(void *arg, unsigned int idx, uint64_t ops)
{
	const struct flavour *f = arg;

	(void)idx;
	f->reader_start();
	while (ops--)
		f->call(calloc(1, sizeof(struct obj)));
	f->barrier();
	f->reader_stop();
}

static struct bench_result call(const struct bench_run *run, const struct flavour *f)
{
	return bench_threads(run, call_thread, (void *)f);
}

#define READ_FNS(name, fl)                                                     \
	static struct bench_result name##_pair(const struct bench_run *r)     \
	{ if (!gptr) publish_first(); return bench_threads(r, name##_pair_loop, NULL); } \
	static struct bench_result name##_mixed(const struct bench_run *r)    \
	{ if (!gptr) publish_first(); return mixed(r, &(fl)); }
#define FLAVOUR_FNS(name, fl)                                                  \
	READ_FNS(name, fl)                                                     \
	static struct bench_result name##_sync(const struct bench_run *r)     \
	{ if (!gptr) publish_first(); return sync_latency(r, &(fl), false); }
#define IDLE_FN(name, fl)                                                      \
	static struct bench_result name##_sync_idle(const struct bench_run *r) \
	{ if (!gptr) publish_first(); return sync_latency(r, &(fl), true); }

FLAVOUR_FNS(kipc, kipc_flavour)
IDLE_FN(kipc, kipc_flavour)
READ_FNS(rw, rwlock_flavour)
static struct bench_result kipc_call(const struct bench_run *r) { return call(r, &kipc_flavour); }
#ifdef HAVE_URCU
FLAVOUR_FNS(memb, memb_flavour)
FLAVOUR_FNS(qsbr, qsbr_flavour)
FLAVOUR_FNS(bp, bp_flavour)
IDLE_FN(memb, memb_flavour)
IDLE_FN(bp, bp_flavour)
static struct bench_result memb_call(const struct bench_run *r) { return call(r, &memb_flavour); }
#endif

#define VS(what, t, kfn, label, pfn)                                            \
	{ "rcu", what, BENCH_SIDE("kipc", kfn), BENCH_SIDE_URCU(label, pfn), t, NULL }

static const struct bench_row rcu_rows[] = {
	VS("read_lock+deref+unlock", 1, kipc_pair, "liburcu memb", memb_pair),
	VS("read_lock+deref+unlock", 1, kipc_pair, "liburcu qsbr", qsbr_pair),
	VS("read_lock+deref+unlock", 1, kipc_pair, "liburcu bp", bp_pair),
	{ "rcu", "read_lock+deref+unlock", BENCH_SIDE("kipc", kipc_pair),
	  BENCH_SIDE("pthread_rwlock_rdlock", rw_pair), 1, NULL },
	VS("reads, 1 reader + updater", 2, kipc_mixed, "liburcu memb", memb_mixed),
	VS("reads, 1 reader + updater", 2, kipc_mixed, "liburcu qsbr", qsbr_mixed),
	VS("reads, 1 reader + updater", 2, kipc_mixed, "liburcu bp", bp_mixed),
	{ "rcu", "reads, 1 reader + updater", BENCH_SIDE("kipc", kipc_mixed),
	  BENCH_SIDE("pthread_rwlock_rdlock", rw_mixed), 2, NULL },
	VS("reads, 2 readers + updater", 3, kipc_mixed, "liburcu memb", memb_mixed),
	VS("reads, 2 readers + updater", 3, kipc_mixed, "liburcu qsbr", qsbr_mixed),
	VS("reads, 2 readers + updater", 3, kipc_mixed, "liburcu bp", bp_mixed),
	{ "rcu", "reads, 2 readers + updater", BENCH_SIDE("kipc", kipc_mixed),
	  BENCH_SIDE("pthread_rwlock_rdlock", rw_mixed), 3, NULL },
	VS("synchronize_rcu, reader on other CPU", 2, kipc_sync, "liburcu memb", memb_sync),
	VS("synchronize_rcu, reader on other CPU", 2, kipc_sync, "liburcu qsbr", qsbr_sync),
	VS("synchronize_rcu, reader on other CPU", 2, kipc_sync, "liburcu bp", bp_sync),
	/* qsbr is left out: its idle readers must go offline, a different program. */
	VS("synchronize_rcu, reader sleeping", 2, kipc_sync_idle, "liburcu memb", memb_sync_idle),
	VS("synchronize_rcu, reader sleeping", 2, kipc_sync_idle, "liburcu bp", bp_sync_idle),
	VS("call_rcu + rcu_barrier, per callback", 1, kipc_call, "liburcu memb", memb_call),
};
BENCH_TABLE(rcu_rows);
