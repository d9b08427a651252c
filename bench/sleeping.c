// SPDX-License-Identifier: MIT
/*
 * Sleeping locks beside their pthread / POSIX counterparts: the mutex
 * against pthread_mutex_t (uncontended pair, 2/4/8 contending threads, and a
 * strict hand-off between two threads), the semaphore against sem_t
 * (uncontended down/up, and the wake-up latency between two processes), and
 * the completion's wake-up latency against a bare futex ping-pong.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kipc/mutex.h>
#include <kipc/semaphore.h>
#include <kipc/completion.h>
#include "futex.h"
#include "lockbench.h"

static void *kipc_mutex_create(void)
{
	struct kipc_mutex *m = lock_alloc(sizeof(*m));

	if (m)
		kipc_mutex_init(m);
	return m;
}
static void kipc_mutex_lock_cb(void *m) { kipc_mutex_lock(m); }
static void kipc_mutex_unlock_cb(void *m) { kipc_mutex_unlock(m); }

static void *pthread_mutex_create(void)
{
	pthread_mutex_t *m = lock_alloc(sizeof(*m));

	if (m)
		pthread_mutex_init(m, NULL);
	return m;
}
static void pthread_mutex_lock_cb(void *m) { pthread_mutex_lock(m); }
static void pthread_mutex_unlock_cb(void *m) { pthread_mutex_unlock(m); }

static void *kipc_sem_create(void)
{
	struct kipc_semaphore *s = lock_alloc(sizeof(*s));

	if (s)
		kipc_sema_init(s, 1);
	return s;
}
static void kipc_down_cb(void *s) { kipc_down(s); }
static void kipc_up_cb(void *s) { kipc_up(s); }

static void *posix_sem_create(void)
{
	sem_t *s = lock_alloc(sizeof(*s));

	if (s)
		sem_init(s, 0, 1);
	return s;
}
static void sem_wait_cb(void *s) { while (sem_wait(s) && errno == EINTR) ; }
static void sem_post_cb(void *s) { sem_post(s); }

static const struct lock_ops kipc_mutex_ops = {
	kipc_mutex_create, lock_free, kipc_mutex_lock_cb, kipc_mutex_unlock_cb, NULL, NULL,
};
static const struct lock_ops pthread_mutex_ops = {
	pthread_mutex_create, lock_free, pthread_mutex_lock_cb, pthread_mutex_unlock_cb,
	NULL, NULL,
};
static const struct lock_ops kipc_sem_ops = {
	kipc_sem_create, lock_free, kipc_down_cb, kipc_up_cb, NULL, NULL,
};
static const struct lock_ops posix_sem_ops = {
	posix_sem_create, lock_free, sem_wait_cb, sem_post_cb, NULL, NULL,
};

static const struct lock_row kipc_mutex_row = { &kipc_mutex_ops, 0 };
static const struct lock_row pthread_mutex_row = { &pthread_mutex_ops, 0 };
static const struct lock_row kipc_sem_row = { &kipc_sem_ops, 0 };
static const struct lock_row posix_sem_row = { &posix_sem_ops, 0 };

/*
 * Strict hand-off: two threads take turns (a turn variable under the lock),
 * so every counted operation is one release by one thread and acquisition
 * by the other: the latency of passing a contended lock across.
 */
struct alternate {
	const struct lock_row *row;
	void *lock;
	unsigned int turn;
	uint64_t left;
};

static void alternate_thread(void *arg, unsigned int idx, uint64_t ops)
{
	struct alternate *a = arg;
	const struct lock_ops *lo = a->row->ops;

	(void)ops;
	for (;;) {
		bool done;

		lo->lock(a->lock);
		if (a->turn == idx && a->left) {
			a->turn = !idx;
			a->left--;
		}
		done = !a->left;
		lo->unlock(a->lock);
		if (done)
			return;
	}
}

static struct bench_result alternate_run(const struct bench_run *run,
					 const struct lock_row *row)
{
	struct alternate a = { .row = row, .lock = row->ops->create(), .left = run->iters };
	struct bench_run r2 = *run;
	struct bench_result r;

	if (!a.lock)
		return bench_failed("alternate");
	r2.threads = 2;
	r = bench_threads(&r2, alternate_thread, &a);
	/* bench_threads divides by iters/2 * 2 operations: the hand-offs. */
	row->ops->destroy(a.lock);
	return r;
}

/*
 * Two processes passing a turn back and forth through two objects in
 * shared memory: the parent posts a and waits on b, the child waits on a
 * and posts b.  ns/op is one round trip: two wake-ups.
 */
struct pingpong_ops {
	size_t size;
	int (*init)(void *obj);		/* process-shared, nothing posted */
	void (*wait)(void *obj);
	void (*post)(void *obj);
};

static struct bench_result pingpong(const struct bench_run *run, const struct pingpong_ops *po)
{
	size_t stride = (po->size + 63) / 64 * 64;
	char *shm = mmap(NULL, 2 * stride, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	void *a = shm, *b = shm + stride;
	uint64_t i, t0, t1;
	int status;
	pid_t pid;

	if (shm == MAP_FAILED)
		return bench_failed("mmap");
	if (po->init(a) || po->init(b)) {
		munmap(shm, 2 * stride);
		return bench_failed("init");
	}
	pid = fork();
	if (pid < 0) {
		munmap(shm, 2 * stride);
		return bench_failed("fork");
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		bench_pin(1);
		for (i = 0; i < run->iters + 1; i++) {
			po->wait(a);
			po->post(b);
		}
		_exit(0);
	}
	bench_pin(0);
	po->post(a);	/* one untimed round trip: the child is running */
	po->wait(b);
	t0 = bench_now_ns();
	for (i = 0; i < run->iters; i++) {
		po->post(a);
		po->wait(b);
	}
	t1 = bench_now_ns();
	bench_unpin();
	waitpid(pid, &status, 0);
	munmap(shm, 2 * stride);
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

static int kipc_sem_pp_init(void *o)
{
	kipc_sema_init_flags(o, 0, KIPC_PSHARED);
	return 0;
}
static int posix_sem_pp_init(void *o) { return sem_init(o, 1, 0); }
static int kipc_completion_pp_init(void *o)
{
	kipc_init_completion_flags(o, KIPC_PSHARED);
	return 0;
}
static void kipc_wait_for_completion_cb(void *o) { kipc_wait_for_completion(o); }
static void kipc_complete_cb(void *o) { kipc_complete(o); }

/* The bare futex: a counter that the waiter sleeps on until it moves. */
struct futex_event {
	uint32_t seq, seen;
};
static int futex_pp_init(void *o)
{
	*(struct futex_event *)o = (struct futex_event){ 0, 0 };
	return 0;
}
static void futex_pp_wait(void *o)
{
	struct futex_event *e = o;

	/* Acquire pairs with the poster's release: the turn is visible. */
	while (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) == e->seen)
		kipc__futex_wait(&e->seq, e->seen, NULL, KIPC__FUTEX_SHARED);
	e->seen++;
}
static void futex_pp_post(void *o)
{
	struct futex_event *e = o;

	__atomic_fetch_add(&e->seq, 1, __ATOMIC_RELEASE);
	kipc__futex_wake(&e->seq, 1, KIPC__FUTEX_SHARED);
}

static const struct pingpong_ops kipc_sem_pp = {
	sizeof(struct kipc_semaphore), kipc_sem_pp_init, kipc_down_cb, kipc_up_cb,
};
static const struct pingpong_ops posix_sem_pp = {
	sizeof(sem_t), posix_sem_pp_init, sem_wait_cb, sem_post_cb,
};
static const struct pingpong_ops kipc_completion_pp = {
	sizeof(struct kipc_completion), kipc_completion_pp_init,
	kipc_wait_for_completion_cb, kipc_complete_cb,
};
static const struct pingpong_ops futex_pp = {
	sizeof(struct futex_event), futex_pp_init, futex_pp_wait, futex_pp_post,
};

#define SIDE_FN(name, runner, what)                                            \
	static struct bench_result name(const struct bench_run *run)          \
	{                                                                      \
		struct bench_run r = *run;                                     \
		r.arg = (void *)&(what);                                       \
		return runner(&r);                                             \
	}
#define ALT_FN(name, what)                                                     \
	static struct bench_result name(const struct bench_run *run)          \
	{ return alternate_run(run, &(what)); }
#define PP_FN(name, what)                                                      \
	static struct bench_result name(const struct bench_run *run)          \
	{ return pingpong(run, &(what)); }

SIDE_FN(kipc_mutex_1, lock_uncontended, kipc_mutex_row)
SIDE_FN(pthread_mutex_1, lock_uncontended, pthread_mutex_row)
SIDE_FN(kipc_mutex_n, lock_contended, kipc_mutex_row)
SIDE_FN(pthread_mutex_n, lock_contended, pthread_mutex_row)
ALT_FN(kipc_mutex_alt, kipc_mutex_row)
ALT_FN(pthread_mutex_alt, pthread_mutex_row)
SIDE_FN(kipc_sem_1, lock_uncontended, kipc_sem_row)
SIDE_FN(posix_sem_1, lock_uncontended, posix_sem_row)
PP_FN(kipc_sem_xproc, kipc_sem_pp)
PP_FN(posix_sem_xproc, posix_sem_pp)
PP_FN(kipc_completion_xproc, kipc_completion_pp)
PP_FN(futex_xproc, futex_pp)

#define MUTEX_ROW(t)                                                          \
	{ "mutex", "lock+unlock, " #t " threads",                              \
	  BENCH_SIDE("kipc_mutex_lock", kipc_mutex_n),                         \
	  BENCH_SIDE("pthread_mutex_lock", pthread_mutex_n), t, NULL }

static const struct bench_row sleeping_rows[] = {
	{ "mutex", "lock+unlock, 1 thread",
	  BENCH_SIDE("kipc_mutex_lock", kipc_mutex_1),
	  BENCH_SIDE("pthread_mutex_lock", pthread_mutex_1), 1, NULL },
	MUTEX_ROW(2),
	MUTEX_ROW(4),
	MUTEX_ROW(8),
	{ "mutex", "hand-off between 2 threads",
	  BENCH_SIDE("kipc_mutex_lock", kipc_mutex_alt),
	  BENCH_SIDE("pthread_mutex_lock", pthread_mutex_alt), 2, NULL },
	{ "semaphore", "down+up, 1 thread",
	  BENCH_SIDE("kipc_down/up", kipc_sem_1),
	  BENCH_SIDE("sem_wait/sem_post", posix_sem_1), 1, NULL },
	{ "semaphore", "wake round trip, 2 processes",
	  BENCH_SIDE("kipc_down/up", kipc_sem_xproc),
	  BENCH_SIDE("sem_wait/sem_post", posix_sem_xproc), 1, NULL },
	{ "completion", "wake round trip, 2 processes",
	  BENCH_SIDE("kipc_complete/wait", kipc_completion_xproc),
	  BENCH_SIDE("futex wake/wait", futex_xproc), 1, NULL },
	{ "semaphore", "wake round trip vs the floor",
	  BENCH_SIDE("kipc_down/up", kipc_sem_xproc), BENCH_SIDE_FLOOR, 1, NULL },
	{ "completion", "wake round trip vs the floor",
	  BENCH_SIDE("kipc_complete/wait", kipc_completion_xproc), BENCH_SIDE_FLOOR, 1, NULL },
};
BENCH_TABLE(sleeping_rows);
