// SPDX-License-Identifier: MIT
/*
 * <kipc/semaphore.h>: the kernel's conventions (down_trylock 0/1,
 * down_timeout 0/-ETIME, down_interruptible and down_killable -EINTR when a
 * signal handler ran, with and without SA_RESTART, down and down_timeout
 * keep waiting through signals), KIPC_DEFINE_SEMAPHORE and sema_init counts,
 * the kernel names of <kipc/linux.h>; FIFO service observed waiter by waiter
 * and the direct hand-off (a newcomer's trylock fails after an up() with a
 * waiter); up() from a signal handler and from another process; a
 * KIPC_PSHARED semaphore between fork()ed processes (ping-pong, and a mutex
 * around a plain counter); a waiter killed with SIGKILL (the unit granted
 * to it is reclaimed for the live waiters); cancelled waits neither lose nor
 * duplicate units (seeded, time-bounded stress with timeouts and signals);
 * more waiters than the FIFO ticket slots; a sleeper burns no CPU.
 *
 * The cross-process tests run first, before this process has any thread
 * (ThreadSanitizer does not support fork() after threads).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kipc/linux.h>

#include "tap.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Tickets handed out and not yet decided: waiters in the FIFO (semaphore.c). */
static unsigned int queued(struct kipc_semaphore *s)
{
	uint64_t v = __atomic_load_n(&s->state, __ATOMIC_RELAXED);

	return ((uint16_t)(v >> 32) + KIPC__SEM_TICKETS - (uint16_t)(v >> 48)) % KIPC__SEM_TICKETS;
}

static unsigned int overflowed(struct kipc_semaphore *s)
{
	return __atomic_load_n(&s->overflow, __ATOMIC_RELAXED);
}

static uint32_t count_of(struct kipc_semaphore *s)
{
	return (uint32_t)__atomic_load_n(&s->state, __ATOMIC_RELAXED);
}

/*
 * Waits (up to 10 s) until at least n tickets are out and task tid of
 * process pid has been asleep for a few polls in a row: it took its ticket
 * and sleeps on it.
 */
static bool wait_queued(struct kipc_semaphore *s, unsigned int n, pid_t pid, pid_t tid)
{
	double end = now() + 10.0;
	int streak = 0;

	while (now() < end) {
		if (queued(s) >= n && task_state(pid, tid) == 'S') {
			if (++streak >= 3)
				return true;
		} else {
			streak = 0;
		}
		sleep_ms(2);
	}
	return false;
}

/* Takes every free unit with trylock; returns how many. */
static long drain(struct kipc_semaphore *s)
{
	long n = 0;

	while (kipc_down_trylock(s) == 0)
		n++;
	return n;
}

static int handler_runs;

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_fetch_add(&handler_runs, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------ */
/* Waiter threads                                                           */
/* ------------------------------------------------------------------------ */

enum op { OP_DOWN, OP_INTR, OP_KILL, OP_TIMEOUT };

struct waiter {
	struct kipc_semaphore *sem;
	enum op op;
	long timeout;
	pthread_t thread;
	pid_t tid;
	int result;
	int done;
	int order;		/* 1, 2, ... in the order waiters returned */
	double wall, cpu;	/* spent in the down call */
};

static int order_seq;

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	double c0, t0;
	int r = 0;

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	c0 = clock_sec(CLOCK_THREAD_CPUTIME_ID);
	t0 = now();
	switch (w->op) {
	case OP_DOWN:
		kipc_down(w->sem);
		break;
	case OP_INTR:
		r = kipc_down_interruptible(w->sem);
		break;
	case OP_KILL:
		r = kipc_down_killable(w->sem);
		break;
	case OP_TIMEOUT:
		r = kipc_down_timeout(w->sem, w->timeout);
		break;
	}
	w->cpu = clock_sec(CLOCK_THREAD_CPUTIME_ID) - c0;
	w->wall = now() - t0;
	w->result = r;
	w->order = __atomic_add_fetch(&order_seq, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void start_waiter(struct waiter *w, struct kipc_semaphore *s, enum op op, long timeout)
{
	memset(w, 0, sizeof(*w));
	w->sem = s;
	w->op = op;
	w->timeout = timeout;
	w->result = 1;
	pthread_create(&w->thread, NULL, waiter_main, w);
	while (!__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE))
		sleep_ms(1);
}

static bool is_done(struct waiter *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

static bool wait_done(struct waiter *w, double secs)
{
	return wait_flag(&w->done, secs);
}

/*
 * If the waiter is stuck (a failed test), up() until it returns so that the
 * test goes on; returns how many units that took.
 */
static int rescue(struct waiter *w)
{
	int n = 0;

	while (!wait_done(w, n ? 1.0 : 0.0) && n < 5) {
		kipc_up(w->sem);
		n++;
	}
	pthread_join(w->thread, NULL);
	return n;
}

/* ------------------------------------------------------------------------ */
/* Cross-process (before any thread)                                        */
/* ------------------------------------------------------------------------ */

#define NPROC 4
#define PINGPONG_ROUNDS 300
#define MUTEX_ITERS 2000

struct xshm {
	struct kipc_semaphore ping, pong, mtx, sem;
	long value, reply;
	long counter;			/* plain, under mtx */
	volatile int inside;		/* plain, under mtx */
	int go;
	int bad[NPROC];
	int got[4];
};

static struct xshm *xshm_new(void)
{
	struct xshm *x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (x == MAP_FAILED) {
		diag("mmap: %s", strerror(errno));
		return NULL;
	}
	return x;
}

static void test_xproc_pingpong(void)
{
	struct xshm *x = xshm_new();
	long i, wrong = 0;
	pid_t pid;

	if (!x) {
		ok(0, "ping-pong: shared memory");
		return;
	}
	kipc_sema_init_flags(&x->ping, 0, KIPC_PSHARED);
	kipc_sema_init_flags(&x->pong, 0, KIPC_PSHARED);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < PINGPONG_ROUNDS; i++) {
			if (kipc_down_timeout(&x->ping, 10000) != 0)
				_exit(2);
			x->reply = x->value * 2 + 1;
			kipc_up(&x->pong);
		}
		_exit(0);
	}
	for (i = 0; i < PINGPONG_ROUNDS; i++) {
		x->value = i;
		kipc_up(&x->ping);
		if (kipc_down_timeout(&x->pong, 10000) != 0) {
			wrong = -1;
			break;
		}
		if (x->reply != i * 2 + 1)
			wrong++;
	}
	ok(reap_child(pid, 10.0), "ping-pong: the child exited cleanly");
	is(wrong, 0, "ping-pong: %d rounds between parent and child, every reply right",
	   PINGPONG_ROUNDS);
	is(drain(&x->ping) + drain(&x->pong), 0, "ping-pong: no unit left over");
	munmap(x, sizeof(*x));
}

static void xproc_mutex_child(struct xshm *x, int idx)
{
	int bad = 0, i, r;

	while (!__atomic_load_n(&x->go, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	for (i = 0; i < MUTEX_ITERS; i++) {
		switch (i % 4) {
		case 1:
			r = kipc_down_timeout(&x->mtx, 10000);
			break;
		case 2:
			r = kipc_down_interruptible(&x->mtx);
			break;
		case 3:
			r = kipc_down_trylock(&x->mtx) ? (kipc_down(&x->mtx), 0) : 0;
			break;
		default:
			kipc_down(&x->mtx);
			r = 0;
		}
		if (r != 0) {
			bad++;
			break;
		}
		if (x->inside)
			bad++;
		x->inside = 1;
		x->counter++;
		if ((i & 31) == 0)
			sched_yield();
		if (x->inside != 1)
			bad++;
		x->inside = 0;
		kipc_up(&x->mtx);
	}
	x->bad[idx] = bad;
	_exit(0);
}

static void test_xproc_mutex(void)
{
	struct xshm *x = xshm_new();
	pid_t pids[NPROC];
	int i, clean = 0, bad = 0;

	if (!x) {
		ok(0, "cross-process mutex: shared memory");
		return;
	}
	kipc_sema_init_flags(&x->mtx, 1, KIPC_PSHARED);
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			xproc_mutex_child(x, i);
	}
	__atomic_store_n(&x->go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NPROC; i++) {
		if (pids[i] > 0 && reap_child(pids[i], 60.0))
			clean++;
		bad += x->bad[i];
	}
	is(clean, NPROC, "cross-process mutex: %d children exited cleanly", NPROC);
	is(bad, 0, "cross-process mutex: no error, never two inside");
	is(x->counter, (long)NPROC * MUTEX_ITERS, "cross-process mutex: the plain counter is exact");
	is(kipc_down_trylock(&x->mtx), 0, "cross-process mutex: the one unit is free at the end");
	is(kipc_down_trylock(&x->mtx), 1, "cross-process mutex: and only one");
	munmap(x, sizeof(*x));
}

/* A child up()s while the parent sleeps in kipc_down. */
static void test_xproc_up(void)
{
	struct xshm *x = xshm_new();
	pid_t pid, parent = getpid();
	double t0, dt;

	if (!x) {
		ok(0, "up from another process: shared memory");
		return;
	}
	kipc_sema_init_flags(&x->sem, 0, KIPC_PSHARED);
	pid = fork();
	if (pid == 0) {
		if (!wait_queued(&x->sem, 1, parent, parent))
			_exit(3);
		kipc_up(&x->sem);
		_exit(0);
	}
	t0 = now();
	kipc_down(&x->sem);
	dt = now() - t0;
	ok(reap_child(pid, 10.0),
	   "up from another process: the child saw the parent asleep and up()ed");
	ok(dt < 10.0, "up from another process: the parent's kipc_down returned (%.1f ms)", dt * 1e3);
	is(kipc_down_trylock(&x->sem), 1, "up from another process: the unit was consumed once");
	munmap(x, sizeof(*x));
}

static pid_t fork_downer(struct xshm *x, int idx)
{
	pid_t pid = fork();

	if (pid == 0) {
		kipc_down(&x->sem);
		__atomic_store_n(&x->got[idx], 1, __ATOMIC_RELEASE);
		_exit(0);
	}
	return pid;
}

/*
 * A waiter killed with SIGKILL while queued never withdraws its ticket; the
 * up() that reaches it grants it a unit it never takes.  A live waiter
 * asleep on the semaphore finds that grant at its next look (every 100 ms),
 * takes it back and passes it on: no unit is lost or duplicated.
 */
static void test_killed_waiter(void)
{
	struct xshm *x = xshm_new();
	pid_t a, b, c;
	bool qa, qb, first, qc;
	long left;

	if (!x) {
		ok(0, "killed waiter: shared memory");
		return;
	}
	kipc_sema_init_flags(&x->sem, 0, KIPC_PSHARED);
	a = fork_downer(x, 0);
	qa = wait_queued(&x->sem, 1, a, a);
	b = fork_downer(x, 1);
	qb = wait_queued(&x->sem, 2, b, b);
	ok(qa && qb, "killed waiter: A then B queued in kipc_down (%u tickets)", queued(&x->sem));
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	kipc_up(&x->sem);
	first = wait_flag(&x->got[1], 5.0);
	ok(first, "killed waiter: one up() reaches the live waiter B (A's grant reclaimed)");
	ok(reap_child(b, 5.0), "killed waiter: B exited cleanly");
	kipc_up(&x->sem);
	left = drain(&x->sem);
	is(left, 1, "killed waiter: one more up() leaves exactly one unit: none lost or duplicated");
	/* still a working semaphore: a new waiter is served by one up() */
	c = fork_downer(x, 2);
	qc = wait_queued(&x->sem, 1, c, c);
	kipc_up(&x->sem);
	ok(qc && wait_flag(&x->got[2], 5.0), "killed waiter: afterwards a new waiter C is "
	   "released by one up()");
	ok(reap_child(c, 5.0), "killed waiter: C exited cleanly");
	kipc_up(&x->sem);
	is(kipc_down_trylock(&x->sem), 0, "killed waiter: afterwards up() then trylock gets it");
	is(kipc_down_trylock(&x->sem), 1, "killed waiter: and the count is 0 again");
	munmap(x, sizeof(*x));
}

/* ------------------------------------------------------------------------ */
/* Conventions, one thread                                                  */
/* ------------------------------------------------------------------------ */

static KIPC_DEFINE_SEMAPHORE(static_sem3, 3);
static KIPC_DEFINE_SEMAPHORE(static_sem0, 0);

static int trylock_result;

static void *trylock_main(void *arg)
{
	trylock_result = kipc_down_trylock(arg);
	return NULL;
}

/* down_trylock from another thread; the unit, if taken, is kept. */
static int trylock_elsewhere(struct kipc_semaphore *s)
{
	pthread_t th;

	trylock_result = -1;
	pthread_create(&th, NULL, trylock_main, s);
	pthread_join(th, NULL);
	return trylock_result;
}

static void test_counts(unsigned int flags)
{
	const char *kind = flags & KIPC_PSHARED ? "PSHARED" : "private";
	struct kipc_semaphore s;
	int i, got = 0;

	kipc_sema_init_flags(&s, 5, flags);
	for (i = 0; i < 5; i++)
		got += kipc_down_trylock(&s) == 0;
	is(got, 5, "%s sema_init(5): five down_trylock return 0", kind);
	is(kipc_down_trylock(&s), 1, "%s sema_init(5): the sixth returns 1", kind);
	kipc_up(&s);
	is(kipc_down_trylock(&s), 0, "%s: after up(), down_trylock returns 0", kind);
	is(kipc_down_trylock(&s), 1, "%s: then 1 again", kind);
	kipc_up(&s);
	kipc_up(&s);
	is(trylock_elsewhere(&s), 0, "%s: another thread's trylock takes an up() unit", kind);
	kipc_down(&s);
	is(kipc_down_trylock(&s), 1, "%s: down took the second unit; none left", kind);
	kipc_up(&s);
	is(kipc_down_interruptible(&s), 0, "%s: down_interruptible with a unit free: 0", kind);
	kipc_up(&s);
	is(kipc_down_killable(&s), 0, "%s: down_killable with a unit free: 0", kind);
	kipc_up(&s);
	is(kipc_down_timeout(&s, 1000), 0, "%s: down_timeout with a unit free: 0", kind);
	kipc_up(&s);
	is(kipc_down_timeout(&s, MAX_SCHEDULE_TIMEOUT), 0,
	   "%s: down_timeout(MAX_SCHEDULE_TIMEOUT) with a unit free: 0", kind);
	is(kipc_down_trylock(&s), 1, "%s: and the count is 0 after all that", kind);

	kipc_sema_init_flags(&s, 0, flags);
	is(kipc_down_trylock(&s), 1, "%s sema_init(0): down_trylock returns 1", kind);
	kipc_sema_init_flags(&s, 1, flags);
	is(kipc_down_trylock(&s), 0, "%s sema_init(1): down_trylock returns 0 ...", kind);
	is(kipc_down_trylock(&s), 1, "%s sema_init(1): ... once", kind);
	for (i = 0; i < 1000; i++)
		kipc_up(&s);
	is(drain(&s), 1000, "%s: 1000 up()s make 1000 units", kind);
}

static void test_static(void)
{
	is(drain(&static_sem3), 3, "KIPC_DEFINE_SEMAPHORE(name, 3): three trylocks succeed, "
	   "the fourth fails");
	is(kipc_down_trylock(&static_sem0), 1, "KIPC_DEFINE_SEMAPHORE(name, 0): trylock fails");
	kipc_up(&static_sem0);
	is(kipc_down_trylock(&static_sem0), 0, "KIPC_DEFINE_SEMAPHORE(name, 0): after up() "
	   "trylock succeeds");
	kipc_up(&static_sem3);
	is(trylock_elsewhere(&static_sem3), 0, "KIPC_DEFINE_SEMAPHORE: works across threads");
}

/* Kernel code, with the kernel's names. */
struct kdev {
	struct semaphore sem;
	int users;
};

static DEFINE_SEMAPHORE(kernel_sem, 2);

static void test_kernel_names(void)
{
	struct kdev d;

	sema_init(&d.sem, 1);
	down(&d.sem);
	d.users = 1;
	is(down_trylock(&d.sem), 1, "kernel names: down_trylock fails while held (1)");
	up(&d.sem);
	is(down_trylock(&d.sem), 0, "kernel names: down_trylock after up (0)");
	is(down_timeout(&d.sem, msecs_to_jiffies(10)), -ETIME,
	   "kernel names: down_timeout(msecs_to_jiffies(10)) times out: -ETIME");
	up(&d.sem);
	is(down_interruptible(&d.sem), 0, "kernel names: down_interruptible 0");
	up(&d.sem);
	is(down_killable(&d.sem), 0, "kernel names: down_killable 0");
	up(&d.sem);
	is(down_timeout(&d.sem, HZ), 0, "kernel names: down_timeout(HZ) 0");
	sema_init_flags(&d.sem, 0, KIPC_PSHARED);
	is(down_trylock(&d.sem), 1, "kernel names: sema_init_flags(0, KIPC_PSHARED)");
	is(drain(&kernel_sem), 2, "kernel names: DEFINE_SEMAPHORE(kernel_sem, 2) has 2 units");
	is(d.users, 1, "kernel names: struct semaphore inside a struct");
}

/* ------------------------------------------------------------------------ */
/* Timeouts                                                                 */
/* ------------------------------------------------------------------------ */

static void test_timeouts(void)
{
	struct kipc_semaphore s;
	struct waiter w;
	double t0, dt;
	int r;

	kipc_sema_init(&s, 0);
	t0 = now();
	r = kipc_down_timeout(&s, 50);
	dt = now() - t0;
	is(r, -ETIME, "down_timeout(50) with no unit returns -ETIME");
	ok(dt >= 0.049 && dt < 5.0, "... after %.1f ms (>= 49, < 5000)", dt * 1e3);
	t0 = now();
	r = kipc_down_timeout(&s, 0);
	dt = now() - t0;
	is(r, -ETIME, "down_timeout(0) with no unit returns -ETIME");
	ok(dt < 5.0, "... at once (%.1f ms)", dt * 1e3);
	is(kipc_down_timeout(&s, -5), -ETIME, "down_timeout(-5) with no unit returns -ETIME");
	t0 = now();
	r = kipc_down_timeout(&s, 1);
	dt = now() - t0;
	is(r, -ETIME, "down_timeout(1) returns -ETIME");
	ok(dt >= 0.0009 && dt < 5.0, "... after %.2f ms (>= 0.9)", dt * 1e3);
	is(queued(&s), 0, "no ticket is left behind by the timed-out waits");
	kipc_up(&s);
	is(kipc_down_trylock(&s), 0, "an up() after the time-outs is counted (trylock 0)");

	/* an up() in time ends down_timeout with 0 */
	start_waiter(&w, &s, OP_TIMEOUT, 10000);
	ok(wait_queued(&s, 1, getpid(), w.tid), "down_timeout(10000) waiter queued and asleep");
	kipc_up(&s);
	ok(wait_done(&w, 5.0), "down_timeout waiter released by up()");
	rescue(&w);
	is(w.result, 0, "down_timeout returned 0 when up() came in time");
	ok(w.wall < 5.0, "... after %.1f ms", w.wall * 1e3);
	is(kipc_down_trylock(&s), 1, "and it took the unit");
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */
/* ------------------------------------------------------------------------ */

static void test_interruptible(enum op op, unsigned int flags, int saflags)
{
	const char *what = saflags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART";
	const char *kind = flags & KIPC_PSHARED ? "PSHARED" : "private";
	const char *name = op == OP_INTR ? "down_interruptible" : "down_killable";
	struct kipc_semaphore s;
	struct waiter w;
	bool asleep, done;
	int rescued;

	set_handler(SIGUSR1, on_usr1, saflags);
	__atomic_store_n(&handler_runs, 0, __ATOMIC_RELAXED);
	kipc_sema_init_flags(&s, 0, flags);
	start_waiter(&w, &s, op, 0);
	asleep = wait_queued(&s, 1, getpid(), w.tid);
	pthread_kill(w.thread, SIGUSR1);
	done = wait_done(&w, 2.0);
	rescued = rescue(&w);
	ok(asleep, "%s %s, %s: the waiter went to sleep", name, kind, what);
	ok(done, "%s %s, %s: one signal ended the wait within 2 s", name, kind, what);
	is(w.result, -EINTR, "%s %s, %s: returned -EINTR", name, kind, what);
	ok(__atomic_load_n(&handler_runs, __ATOMIC_RELAXED) >= 1,
	   "%s %s, %s: the handler ran", name, kind, what);
	if (!rescued) {
		kipc_up(&s);
		is(kipc_down_trylock(&s), 0, "%s %s, %s: the interrupted waiter took no unit: "
		   "the next up() is free", name, kind, what);
	} else {
		ok(0, "%s %s, %s: the interrupted waiter took no unit (needed %d rescue up()s)",
		   name, kind, what, rescued);
	}
	is(kipc_down_trylock(&s), 1, "%s %s, %s: and the count is 0 again", name, kind, what);
}

static void test_uninterruptible(enum op op, int saflags)
{
	const char *what = saflags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART";
	const char *name = op == OP_DOWN ? "down" : "down_timeout(5000)";
	struct kipc_semaphore s;
	struct waiter w;
	bool asleep, early;
	int i;

	set_handler(SIGUSR1, on_usr1, saflags);
	__atomic_store_n(&handler_runs, 0, __ATOMIC_RELAXED);
	kipc_sema_init(&s, 0);
	start_waiter(&w, &s, op, 5000);
	asleep = wait_queued(&s, 1, getpid(), w.tid);
	for (i = 0; i < 5; i++) {
		pthread_kill(w.thread, SIGUSR1);
		sleep_ms(20);
	}
	sleep_ms(50);
	early = is_done(&w);
	kipc_up(&s);
	wait_done(&w, 5.0);
	pthread_join(w.thread, NULL);
	ok(asleep, "%s, %s: the waiter went to sleep", name, what);
	ok(!early, "%s, %s: kept waiting through 5 signals", name, what);
	is(w.result, 0, "%s, %s: returned 0 after up()", name, what);
	ok(__atomic_load_n(&handler_runs, __ATOMIC_RELAXED) >= 1,
	   "%s, %s: the handler ran (%d times)", name, what,
	   __atomic_load_n(&handler_runs, __ATOMIC_RELAXED));
	is(kipc_down_trylock(&s), 1, "%s, %s: the unit was taken once", name, what);
}

/* down_timeout is uninterruptible: signals do not shorten it. */
static void test_timeout_signals(void)
{
	struct kipc_semaphore s;
	struct waiter w;
	int i;

	set_handler(SIGUSR1, on_usr1, 0);
	kipc_sema_init(&s, 0);
	start_waiter(&w, &s, OP_TIMEOUT, 200);
	wait_queued(&s, 1, getpid(), w.tid);
	for (i = 0; i < 5 && !is_done(&w); i++) {
		pthread_kill(w.thread, SIGUSR1);
		sleep_ms(20);
	}
	wait_done(&w, 5.0);
	rescue(&w);
	is(w.result, -ETIME, "down_timeout(200) hit by signals still returns -ETIME");
	ok(w.wall >= 0.195 && w.wall < 5.0, "... after the whole timeout (%.1f ms)", w.wall * 1e3);
	kipc_up(&s);
	is(drain(&s), 1, "... and took no unit");
}

/* ------------------------------------------------------------------------ */
/* up() from a signal handler                                               */
/* ------------------------------------------------------------------------ */

static struct kipc_semaphore *handler_sem;
static int up_handler_runs;

static void on_usr2_up(int sig)
{
	(void)sig;
	kipc_up(handler_sem);
	__atomic_fetch_add(&up_handler_runs, 1, __ATOMIC_RELAXED);
}

struct kicker {
	struct kipc_semaphore *sem;
	bool on_waiter;		/* signal the waiter, else the kicker itself */
	pthread_t target;
	pid_t target_tid;
	int main_returned;
	int queued_ok;
	int rescued;
};

static void *kicker_main(void *arg)
{
	struct kicker *k = arg;

	k->queued_ok = wait_queued(k->sem, 1, getpid(), k->target_tid);
	if (k->on_waiter)
		pthread_kill(k->target, SIGUSR2);
	else
		pthread_kill(pthread_self(), SIGUSR2);
	if (!wait_flag(&k->main_returned, 5.0)) {
		k->rescued = 1;
		kipc_up(k->sem);
	}
	return NULL;
}

/*
 * The main thread sleeps in kipc_down; a SIGUSR2 handler up()s.  The handler
 * runs on a helper thread (self_signal false) or interrupts the very thread
 * that waits (self_signal true).
 */
static void test_up_from_handler(bool on_waiter, int saflags)
{
	const char *what = saflags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART";
	const char *where = on_waiter ? "on the waiting thread" : "on another thread";
	struct kipc_semaphore s;
	struct kicker k;
	pthread_t th;
	double t0, dt;

	if (on_waiter && (saflags & SA_RESTART) && UNDER_TSAN) {
		/*
		 * TSan runs a handler only when the thread leaves the syscall,
		 * and the kernel restarts the futex wait after SA_RESTART.
		 */
		ok(1, "# SKIP up() from a handler %s, %s: TSan defers the handler", where, what);
		ok(1, "# SKIP (TSan)");
		ok(1, "# SKIP (TSan)");
		return;
	}
	set_handler(SIGUSR2, on_usr2_up, saflags);
	__atomic_store_n(&up_handler_runs, 0, __ATOMIC_RELAXED);
	kipc_sema_init(&s, 0);
	handler_sem = &s;
	memset(&k, 0, sizeof(k));
	k.sem = &s;
	k.on_waiter = on_waiter;
	k.target = pthread_self();
	k.target_tid = gettid();
	pthread_create(&th, NULL, kicker_main, &k);
	t0 = now();
	kipc_down(&s);
	dt = now() - t0;
	__atomic_store_n(&k.main_returned, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	ok(k.queued_ok && !k.rescued, "up() from a handler %s, %s: the sleeping main thread "
	   "was released by it (%.1f ms)", where, what, dt * 1e3);
	is(__atomic_load_n(&up_handler_runs, __ATOMIC_RELAXED), 1,
	   "up() from a handler %s, %s: the handler ran once", where, what);
	is(kipc_down_trylock(&s), 1, "up() from a handler %s, %s: its unit was consumed once",
	   where, what);
}

/* ------------------------------------------------------------------------ */
/* FIFO and hand-off                                                        */
/* ------------------------------------------------------------------------ */

static void test_fifo(unsigned int flags)
{
	const char *kind = flags & KIPC_PSHARED ? "PSHARED" : "private";
	static const char *const names[3] = { "A", "B", "C" };
	struct kipc_semaphore s;
	struct waiter w[3];
	bool all_queued = true;
	int i, j;

	kipc_sema_init_flags(&s, 0, flags);
	for (i = 0; i < 3; i++) {
		start_waiter(&w[i], &s, i == 1 ? OP_INTR : i == 2 ? OP_TIMEOUT : OP_DOWN, 20000);
		if (!wait_queued(&s, (unsigned int)i + 1, getpid(), w[i].tid))
			all_queued = false;
	}
	ok(all_queued, "FIFO %s: A (down), B (down_interruptible), C (down_timeout) queued "
	   "one after the other", kind);
	for (i = 0; i < 3; i++) {
		bool others = false;

		kipc_up(&s);
		ok(wait_done(&w[i], 5.0), "FIFO %s: up() #%d released %s", kind, i + 1, names[i]);
		sleep_ms(50);
		for (j = i + 1; j < 3; j++)
			others |= is_done(&w[j]);
		ok(!others, "FIFO %s: ... and no one queued after %s", kind, names[i]);
	}
	for (i = 0; i < 3; i++)
		rescue(&w[i]);
	ok(w[0].order < w[1].order && w[1].order < w[2].order,
	   "FIFO %s: they returned in queue order A, B, C", kind);
	ok(w[0].result == 0 && w[1].result == 0 && w[2].result == 0,
	   "FIFO %s: each returned 0", kind);
	is(kipc_down_trylock(&s), 1, "FIFO %s: count 0 at the end", kind);
}

struct barger {
	struct kipc_semaphore *sem;
	int go, result, stop;
};

static void *barger_main(void *arg)
{
	struct barger *b = arg;
	int seen = 0;

	for (;;) {
		int g;

		while ((g = __atomic_load_n(&b->go, __ATOMIC_ACQUIRE)) == seen &&
		       !__atomic_load_n(&b->stop, __ATOMIC_RELAXED))
			sched_yield();
		if (__atomic_load_n(&b->stop, __ATOMIC_RELAXED))
			break;
		seen = g;
		__atomic_store_n(&b->result, kipc_down_trylock(b->sem), __ATOMIC_RELEASE);
		__atomic_store_n(&b->go, -seen, __ATOMIC_RELEASE);
		seen = -seen;
	}
	return NULL;
}

/*
 * After up() with a waiter queued, the unit is the waiter's: a trylock right
 * after, by the upper or by a thread spinning for the moment, fails.
 */
static void test_handoff(void)
{
	struct kipc_semaphore s;
	struct barger b;
	pthread_t th;
	int round, self_fail = 0, other_fail = 0, released = 0, queued_ok = 0;

	kipc_sema_init(&s, 0);
	memset(&b, 0, sizeof(b));
	b.sem = &s;
	pthread_create(&th, NULL, barger_main, &b);
	for (round = 1; round <= 5; round++) {
		struct waiter w;
		int mine, theirs;

		start_waiter(&w, &s, OP_DOWN, 0);
		queued_ok += wait_queued(&s, 1, getpid(), w.tid);
		kipc_up(&s);
		__atomic_store_n(&b.go, round, __ATOMIC_RELEASE);	/* the other thread tries */
		mine = kipc_down_trylock(&s);				/* and so do we */
		while (__atomic_load_n(&b.go, __ATOMIC_ACQUIRE) != -round)
			sched_yield();
		theirs = __atomic_load_n(&b.result, __ATOMIC_ACQUIRE);
		self_fail += mine == 1;
		other_fail += theirs == 1;
		if (mine == 0)
			kipc_up(&s);
		if (theirs == 0)
			kipc_up(&s);
		released += wait_done(&w, 5.0) && w.result == 0;
		rescue(&w);
	}
	__atomic_store_n(&b.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	is(queued_ok, 5, "hand-off: a waiter was queued and asleep each round");
	is(self_fail, 5, "hand-off: the upper's own trylock right after up() failed, 5 of 5");
	is(other_fail, 5, "hand-off: a spinning thread's trylock right after up() failed, 5 of 5");
	is(released, 5, "hand-off: the queued waiter got the unit each time");
	is(kipc_down_trylock(&s), 1, "hand-off: count 0 at the end");
}

/* ------------------------------------------------------------------------ */
/* A sleeper burns no CPU                                                   */
/* ------------------------------------------------------------------------ */

static void test_sleeper_cpu(unsigned int flags)
{
	const char *kind = flags & KIPC_PSHARED ? "PSHARED" : "private";
	struct kipc_semaphore s;
	struct waiter w;

	kipc_sema_init_flags(&s, 0, flags);
	start_waiter(&w, &s, OP_DOWN, 0);
	sleep_ms(300);
	kipc_up(&s);
	wait_done(&w, 5.0);
	rescue(&w);
	ok(w.wall >= 0.29, "sleeper %s: waited in down %.0f ms", kind, w.wall * 1e3);
	ok(w.cpu < 0.05, "sleeper %s: and used %.2f ms of CPU meanwhile (< 50)", kind, w.cpu * 1e3);
}

/* ------------------------------------------------------------------------ */
/* More waiters than ticket slots                                           */
/* ------------------------------------------------------------------------ */

#define MANY 80

static bool all_asleep(struct waiter *w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (task_state(getpid(), w[i].tid) != 'S')
			return false;
	return true;
}

static bool wait_many(struct kipc_semaphore *s, struct waiter *w, int n, unsigned int extra)
{
	unsigned int want_q = n < KIPC_SEM_FIFO_WAITERS ? (unsigned int)n : KIPC_SEM_FIFO_WAITERS;
	unsigned int want_o = n > KIPC_SEM_FIFO_WAITERS ? (unsigned int)n - KIPC_SEM_FIFO_WAITERS : 0;
	double end = now() + 20.0;
	int streak = 0;

	while (now() < end) {
		if (queued(s) == want_q && overflowed(s) == want_o + extra && all_asleep(w, n)) {
			if (++streak >= 3)
				return true;
		} else {
			streak = 0;
		}
		sleep_ms(5);
	}
	return false;
}

static void test_many(void)
{
	static struct waiter w[MANY];
	struct waiter wt, wi;
	struct kipc_semaphore s;
	int i, released = 0;
	unsigned int extra;
	bool ok64, ok80, overflow_asleep;
	double end;

	kipc_sema_init(&s, 0);
	for (i = 0; i < KIPC_SEM_FIFO_WAITERS; i++)
		start_waiter(&w[i], &s, OP_DOWN, 0);
	ok64 = wait_many(&s, w, KIPC_SEM_FIFO_WAITERS, 0);
	ok(ok64, "%d waiters hold every ticket slot, asleep", KIPC_SEM_FIFO_WAITERS);

	/* beyond the slots, timeouts and signals still work */
	start_waiter(&wt, &s, OP_TIMEOUT, 50);
	wait_done(&wt, 10.0);
	ok(is_done(&wt), "waiter #%d (no ticket slot): down_timeout(50) returned",
	   KIPC_SEM_FIFO_WAITERS + 1);
	extra = !is_done(&wt);
	set_handler(SIGUSR1, on_usr1, SA_RESTART);
	start_waiter(&wi, &s, OP_INTR, 0);
	end = now() + 10.0;
	overflow_asleep = false;
	while (now() < end && !overflow_asleep) {
		overflow_asleep = overflowed(&s) == 1 + extra &&
				  task_state(getpid(), wi.tid) == 'S';
		sleep_ms(2);
	}
	sleep_ms(20);
	pthread_kill(wi.thread, SIGUSR1);
	ok(overflow_asleep && wait_done(&wi, 2.0), "waiter #%d (no ticket slot): "
	   "down_interruptible ended by a signal (SA_RESTART) within 2 s",
	   KIPC_SEM_FIFO_WAITERS + 2);
	extra += !is_done(&wi);	/* stuck: released with the others below */

	for (i = KIPC_SEM_FIFO_WAITERS; i < MANY; i++)
		start_waiter(&w[i], &s, OP_DOWN, 0);
	ok80 = wait_many(&s, w, MANY, extra);
	ok(ok80, "%d waiters asleep: %u with tickets, %u waiting for one", MANY, queued(&s),
	   overflowed(&s));
	for (i = 0; i < MANY + (int)extra; i++)
		kipc_up(&s);
	for (i = 0; i < MANY; i++)
		released += wait_done(&w[i], 10.0) && w[i].result == 0;
	for (i = 0; i < MANY; i++)
		rescue(&w[i]);
	rescue(&wt);
	rescue(&wi);
	is(wt.result, -ETIME, "... the down_timeout(50) without a ticket slot gave -ETIME");
	ok(wt.wall >= 0.049 && wt.wall < 5.0, "... after %.1f ms", wt.wall * 1e3);
	is(wi.result, -EINTR, "... the interrupted down_interruptible without a slot gave -EINTR");
	is(released, MANY, "%d up()s released all %d waiters", MANY, MANY);
	is(count_of(&s), 0, "no unit left over or lost: the count is 0");
	is(queued(&s), 0, "no ticket left behind");
	kipc_up(&s);
	is(drain(&s), 1, "the semaphore still counts: up() then one trylock");
}

/* ------------------------------------------------------------------------ */
/* Stress: cancelled waits neither lose nor duplicate units                 */
/* ------------------------------------------------------------------------ */

enum role { R_TIMEOUT, R_INTR, R_UPPER };

struct stress {
	struct kipc_semaphore sem;
	int stop;
	long ups, downs, timeouts, eintrs, bad;
};

struct stressor {
	struct stress *st;
	enum role role;
	pthread_t thread;
	uint64_t rng;
	int done;
	long ups, downs, timeouts, eintrs, bad;
};

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void *stressor_main(void *arg)
{
	struct stressor *t = arg;
	struct kipc_semaphore *s = &t->st->sem;

	while (!__atomic_load_n(&t->st->stop, __ATOMIC_RELAXED)) {
		uint64_t r = rnd(&t->rng);
		int ret = -1;

		switch (t->role) {
		case R_UPPER:
			kipc_up(s);
			t->ups++;
			if (r % 8 == 0) {
				kipc_up(s);
				t->ups++;
			}
			sleep_us((long)((r >> 8) % 400));
			continue;
		case R_TIMEOUT:
			if (r % 16 == 0)
				ret = kipc_down_trylock(s) ? -ETIME : 0;
			else
				ret = kipc_down_timeout(s, (long)((r >> 8) % 3));
			if (ret == 0)
				t->downs++;
			else if (ret == -ETIME)
				t->timeouts++;
			else
				t->bad++;
			break;
		case R_INTR:
			ret = r % 4 == 0 ? kipc_down_killable(s) : kipc_down_interruptible(s);
			if (ret == 0)
				t->downs++;
			else if (ret == -EINTR)
				t->eintrs++;
			else
				t->bad++;
			break;
		}
		if (ret == 0 && (r >> 16) % 2 == 0) {
			/* give it back at once: more hand-offs while others queue */
			kipc_up(s);
			t->ups++;
		}
	}
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_stress(const char *label, unsigned long seed, int n_timeout, int n_intr,
			int n_up, double secs, int initial)
{
	static struct stressor t[128];
	struct stress st;
	int n = n_timeout + n_intr + n_up, i, signals = 0;
	long ups = 0, downs = 0, timeouts = 0, eintrs = 0, bad = 0, left;
	uint64_t rng = seed * 2654435761u + 1;
	double end;

	memset(&st, 0, sizeof(st));
	kipc_sema_init(&st.sem, initial);
	set_handler(SIGUSR1, on_usr1, (seed & 1) ? SA_RESTART : 0);
	for (i = 0; i < n; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].st = &st;
		t[i].role = i < n_timeout ? R_TIMEOUT : i < n_timeout + n_intr ? R_INTR : R_UPPER;
		t[i].rng = seed * 7919 + (uint64_t)i * 104729 + 1;
		pthread_create(&t[i].thread, NULL, stressor_main, &t[i]);
	}
	end = now() + secs;
	while (now() < end) {
		int k = n_timeout + (int)(rnd(&rng) % (uint64_t)n_intr);

		pthread_kill(t[k].thread, SIGUSR1);
		signals++;
		sleep_us((long)(rnd(&rng) % 500));
	}
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELAXED);
	/* the interruptible ones may sleep: signal them until they leave */
	end = now() + 20.0;
	for (i = 0; i < n; i++) {
		while (!__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE) && now() < end) {
			if (t[i].role == R_INTR)
				pthread_kill(t[i].thread, SIGUSR1);
			sleep_ms(1);
		}
	}
	for (i = 0; i < n; i++) {
		if (!__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE)) {
			/* stuck: hand out units until everyone leaves, and fail below */
			while (!__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE)) {
				kipc_up(&st.sem);
				ups++;
				bad++;
				sleep_ms(1);
			}
		}
		pthread_join(t[i].thread, NULL);
		ups += t[i].ups;
		downs += t[i].downs;
		timeouts += t[i].timeouts;
		eintrs += t[i].eintrs;
		bad += t[i].bad;
	}
	left = drain(&st.sem);
	diag("stress %s: %d threads, %.1f s: %ld ups, %ld downs, %ld timeouts, %ld -EINTR, "
	     "%d signals, %ld left", label, n, secs, ups, downs, timeouts, eintrs, signals, left);
	is(bad, 0, "stress %s: no unexpected return value, no thread stuck", label);
	is((long)initial + ups - downs, left,
	   "stress %s: initial + ups - successful downs == units left (%ld)", label, left);
	ok(timeouts > 0 && eintrs > 0, "stress %s: waits were cancelled by timeouts (%ld) and "
	   "by signals (%ld)", label, timeouts, eintrs);
	kipc_up(&st.sem);
	is(drain(&st.sem), 1, "stress %s: afterwards one up() gives exactly one unit", label);
}

/* ------------------------------------------------------------------------ */
/* Ticket wrap                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Tickets count modulo KIPC__SEM_TICKETS (a multiple of the slot count) and
 * wrap in a long run: several threads take turns on a one-unit semaphore,
 * so that a few tickets are always out, until the tail has wrapped twice,
 * with exclusion checked throughout.  (Three tickets out at most: too few
 * to catch counting modulo 2^16, which needs five out across the wrap;
 * test_wrap_burst() does that.)
 */
struct wrap {
	struct kipc_semaphore sem;
	int inside, overlaps;		/* guarded by sem: a plain int */
	long turns;
	int stop, running;
};

static void *wrap_main(void *arg)
{
	struct wrap *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		down(&w->sem);
		if (w->inside++)
			w->overlaps++;
		w->turns++;
		w->inside--;
		up(&w->sem);
	}
	__atomic_fetch_sub(&w->running, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_wrap(void)
{
	static struct wrap w;
	pthread_t t[4];
	unsigned int wraps = 0, i, extra = 0;
	uint16_t last = 0;
	double end = now() + 30.0;

	memset(&w, 0, sizeof(w));
	sema_init(&w.sem, 1);
	w.running = 4;
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, wrap_main, &w);
	while (wraps < 2 && now() < end) {
		uint16_t tail = (uint16_t)(__atomic_load_n(&w.sem.state, __ATOMIC_RELAXED) >> 32);

		if (tail < last)
			wraps++;
		last = tail;
		sleep_us(200);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELAXED);
	/* A waiter stuck on a lost grant: units until all leave, and fail. */
	for (end = now() + 2.0; __atomic_load_n(&w.running, __ATOMIC_ACQUIRE); sleep_ms(1))
		if (now() > end) {
			up(&w.sem);
			extra++;
		}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	diag("ticket wrap: %ld turns, tail wrapped %u times", w.turns, wraps);
	is(wraps, 2u, "ticket wrap: the tail wrapped twice within 30 s");
	is(extra, 0u, "ticket wrap: no waiter stuck");
	is(w.overlaps, 0, "ticket wrap: never two holders of the one unit");
	ok(extra || (down_trylock(&w.sem) == 0 && down_trylock(&w.sem) == 1),
	   "ticket wrap: exactly one unit left afterwards");
}

/*
 * The wrap, deterministically: the queue is set to start 6 tickets short of
 * KIPC__SEM_TICKETS, seven waiters queue across the wrap and sleep, and
 * seven up()s in a burst must release all seven.  Counting the tickets
 * modulo 2^16 would put the last two in one slot.
 */
static int burst_left;

static void *burst_main(void *arg)
{
	down(arg);
	__atomic_fetch_sub(&burst_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_wrap_burst(void)
{
	static struct kipc_semaphore sem __attribute__((aligned(64)));
	const uint64_t start = KIPC__SEM_TICKETS - 6;
	pthread_t t[7];
	double end;
	int i, extra = 0;
	uint16_t tail;

	sema_init(&sem, 0);
	__atomic_store_n(&sem.state, start << 32 | start << 48, __ATOMIC_RELAXED);
	burst_left = 7;
	for (i = 0; i < 7; i++)
		pthread_create(&t[i], NULL, burst_main, &sem);
	for (end = now() + 10.0; queued(&sem) < 7 && now() < end; )
		sleep_ms(1);
	tail = (uint16_t)(__atomic_load_n(&sem.state, __ATOMIC_RELAXED) >> 32);
	ok(queued(&sem) == 7 && tail == 1,
	   "wrap burst: seven waiters queued across the wrap (tail now 1)");
	sleep_ms(20);	/* all asleep on their slots */
	for (i = 0; i < 7; i++)
		up(&sem);
	for (end = now() + 5.0; __atomic_load_n(&burst_left, __ATOMIC_ACQUIRE) && now() < end; )
		sleep_ms(1);
	is(__atomic_load_n(&burst_left, __ATOMIC_ACQUIRE), 0,
	   "wrap burst: seven up()s released all seven");
	while (__atomic_load_n(&burst_left, __ATOMIC_ACQUIRE)) {
		up(&sem);	/* release any stuck one, so that the joins end */
		extra++;
		sleep_ms(1);
	}
	for (i = 0; i < 7; i++)
		pthread_join(t[i], NULL);
	ok(!extra && down_trylock(&sem) == 1, "wrap burst: no unit left over");
}

/* ------------------------------------------------------------------------ */

int main(void)
{
	unsigned long seed;

	setvbuf(stdout, NULL, _IONBF, 0);	/* nothing buffered for fork() to copy */
	seed = tap_seed();
	alarm(120);	/* a hang ends the run (SIGALRM) rather than the runner's timeout */

	/* before any thread exists */
	test_xproc_pingpong();
	test_xproc_mutex();
	test_xproc_up();
	test_killed_waiter();

	test_counts(0);
	test_counts(KIPC_PSHARED);
	test_static();
	test_kernel_names();
	test_timeouts();

	test_interruptible(OP_INTR, 0, 0);
	test_interruptible(OP_INTR, 0, SA_RESTART);
	test_interruptible(OP_INTR, KIPC_PSHARED, 0);
	test_interruptible(OP_INTR, KIPC_PSHARED, SA_RESTART);
	test_interruptible(OP_KILL, 0, 0);
	test_interruptible(OP_KILL, 0, SA_RESTART);
	test_uninterruptible(OP_DOWN, 0);
	test_uninterruptible(OP_DOWN, SA_RESTART);
	test_uninterruptible(OP_TIMEOUT, 0);
	test_timeout_signals();

	test_up_from_handler(false, 0);
	test_up_from_handler(false, SA_RESTART);
	test_up_from_handler(true, 0);
	test_up_from_handler(true, SA_RESTART);

	test_fifo(0);
	test_fifo(KIPC_PSHARED);
	test_handoff();
	test_sleeper_cpu(0);
	test_sleeper_cpu(KIPC_PSHARED);

	test_many();
	test_wrap();
	test_wrap_burst();
	test_stress("few", seed, 3, 2, 2, 1.5, 0);
	test_stress("many", seed + 1, 90, 6, 4, 0.7, 3);
	return done_testing();
}
