// SPDX-License-Identifier: MIT
/*
 * <kipc/rcu.h> under the kernel's names (<kipc/linux.h>):
 *
 *  - a grace period (synchronize_rcu) waits for every reader that was inside
 *    a read section when it began: one that registered with
 *    rcu_register_thread and one that never did (its first rcu_read_lock
 *    registers it); while the reader holds its section, synchronize_rcu is
 *    checked to be still blocked after 100 ms, and it returns once the reader
 *    leaves;
 *  - it does not wait for readers that entered after it began;
 *  - nested sections: only the outermost rcu_read_unlock ends the section;
 *  - a reader blocked (sleeping 200 ms) inside a section delays the grace
 *    period and does not break it;
 *  - a thread's first rcu_read_lock, and a registered thread's exit, are not
 *    held up by a grace period that is waiting for some other reader;
 *  - call_rcu: the callback runs only after a grace period (not while a
 *    pre-existing reader holds its section), on the library's thread;
 *    rcu_barrier waits for every callback queued before it, from several
 *    threads; kfree_rcu frees the object (not the rcu_head inside it);
 *  - get_state_synchronize_rcu / poll_state_synchronize_rcu: false until a
 *    full grace period began and ended after the cookie was taken;
 *  - rcu_dereference, rcu_assign_pointer, rcu_access_pointer,
 *    RCU_INIT_POINTER, rcu_replace_pointer, rcu_dereference_protected;
 *  - a thread that exits without rcu_unregister_thread is forgotten: a later
 *    synchronize_rcu does not wait for it;
 *  - fork: the child can read, synchronize_rcu, call_rcu and rcu_barrier at
 *    once, also when the parent had other readers inside sections and
 *    callbacks in flight at the fork.
 *
 * Waits are bounded: a grace period that does not end is reported as a
 * failure (and alarm() ends a run that hangs outright).  The fork with
 * threads is skipped under ThreadSanitizer, which does not support a child
 * creating threads after a multi-threaded fork.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kipc/linux.h>

#include "tap.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__) || UNDER_TSAN
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

/* How long "does not end" is; generous for qemu and the sanitizers. */
#define LONG_WAIT 10.0
/* How long a blocked grace period is watched to be still blocked. */
#define BLOCKED_MS 100

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static int get(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void set(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void inc(int *p)
{
	__atomic_fetch_add(p, 1, __ATOMIC_ACQ_REL);
}

/* Wait until *p >= v, at most timeout seconds; true if it got there. */
static bool wait_for(const int *p, int v, double timeout)
{
	double end = now() + timeout;

	while (get(p) < v) {
		if (now() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

static uint64_t gp_seq(void)
{
	return __atomic_load_n(&kipc_rcu_gp_seq, __ATOMIC_ACQUIRE);
}

/* Wait until a grace period later than seq0 has begun. */
static bool wait_gp_started(uint64_t seq0)
{
	double end = now() + LONG_WAIT;

	while (gp_seq() <= seq0) {
		if (now() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

/* Join, but give up (and say so) after timeout seconds. */
static bool join_within(pthread_t t, double timeout)
{
	struct timespec ts;
	long ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = ts.tv_nsec + (long)((timeout - (double)(long)timeout) * 1e9);
	ts.tv_sec += (time_t)timeout + ns / 1000000000L;
	ts.tv_nsec = ns % 1000000000L;
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* ------------------------------------------------------------------------ */
/* A reader thread that holds a (possibly nested) section until released.   */
/* ------------------------------------------------------------------------ */

struct reader {
	pthread_t thread;
	bool do_register;	/* call rcu_register_thread first */
	int depth;		/* nesting depth of the held section */
	int go;			/* main: enter the section now */
	int registered;		/* reader: registered (if do_register) */
	int in_section;		/* reader: inside, all depth levels */
	int release;		/* main: how many levels to leave */
	int left;		/* reader: how many levels it has left */
	int unlocking;		/* reader: about to leave the outermost level */
	int done;		/* reader: out, and returning */
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	if (r->do_register)
		rcu_register_thread();
	set(&r->registered, 1);
	wait_for(&r->go, 1, 1e9);
	for (int i = 0; i < r->depth; i++)
		rcu_read_lock();
	set(&r->in_section, 1);
	for (int level = r->depth; level > 0; level--) {
		wait_for(&r->release, r->depth - level + 1, 1e9);
		if (level == 1)
			set(&r->unlocking, 1);
		rcu_read_unlock();
		inc(&r->left);
	}
	set(&r->done, 1);
	return NULL;
}

/* Start a reader; if go, wait until it holds its section. */
static bool reader_start(struct reader *r, bool do_register, int depth, bool go)
{
	memset(r, 0, sizeof(*r));
	r->do_register = do_register;
	r->depth = depth;
	r->go = go;
	if (pthread_create(&r->thread, NULL, reader_main, r) != 0)
		return false;
	if (!wait_for(&r->registered, 1, LONG_WAIT))
		return false;
	return !go || wait_for(&r->in_section, 1, LONG_WAIT);
}

static void reader_finish(struct reader *r)
{
	set(&r->go, 1);
	set(&r->release, r->depth);
	if (!join_within(r->thread, LONG_WAIT))
		diag("reader thread did not finish");
}

/* A thread that runs one synchronize_rcu and notes what it saw after. */
struct syncer {
	pthread_t thread;
	struct reader *watch;	/* the reader it must wait for, if any */
	int done;
	int saw_unlocking;	/* watch->unlocking when synchronize returned */
	double start, end;
};

static void *syncer_main(void *arg)
{
	struct syncer *s = arg;

	s->start = now();
	synchronize_rcu();
	s->end = now();
	if (s->watch)
		set(&s->saw_unlocking, get(&s->watch->unlocking));
	set(&s->done, 1);
	return NULL;
}

static bool syncer_start(struct syncer *s, struct reader *watch)
{
	memset(s, 0, sizeof(*s));
	s->watch = watch;
	return pthread_create(&s->thread, NULL, syncer_main, s) == 0;
}

/* ------------------------------------------------------------------------ */
/* Grace periods and readers                                                */
/* ------------------------------------------------------------------------ */

static void test_waits_for_reader(bool do_register)
{
	const char *how = do_register ? "registered reader" : "reader that never registered";
	struct reader r;
	struct syncer s;

	if (!ok(reader_start(&r, do_register, 1, true), "%s: holds a section", how))
		return;
	ok(syncer_start(&s, &r), "%s: synchronize_rcu started in another thread", how);
	sleep_ms(BLOCKED_MS);
	ok(!get(&s.done), "%s: synchronize_rcu still blocked after %d ms", how, BLOCKED_MS);
	set(&r.release, 1);
	ok(wait_for(&s.done, 1, LONG_WAIT), "%s: synchronize_rcu returns once it unlocks", how);
	ok(get(&s.saw_unlocking), "%s: ... and not before", how);
	join_within(s.thread, LONG_WAIT);
	reader_finish(&r);
}

static void test_nested(void)
{
	struct reader r;
	struct syncer s;
	bool blocked = true;

	if (!ok(reader_start(&r, false, 3, true), "nested: reader holds 3 levels"))
		return;
	syncer_start(&s, &r);
	sleep_ms(BLOCKED_MS);
	blocked = !get(&s.done);
	for (int i = 1; i < 3; i++) {
		set(&r.release, i);
		wait_for(&r.left, i, LONG_WAIT);
		sleep_ms(BLOCKED_MS / 2);
		blocked = blocked && !get(&s.done);
	}
	ok(blocked, "nested: synchronize_rcu blocked while any level is held");
	set(&r.release, 3);
	ok(wait_for(&s.done, 1, LONG_WAIT) && get(&s.saw_unlocking),
	   "nested: synchronize_rcu returns after the outermost unlock");
	join_within(s.thread, LONG_WAIT);
	reader_finish(&r);

	/* Nesting in this thread: the counts balance. */
	rcu_read_lock();
	rcu_read_lock();
	rcu_read_unlock();
	rcu_read_unlock();
	synchronize_rcu();	/* would deadlock if this thread were still inside */
	ok(1, "nested: this thread's balanced nest leaves no section behind");
}

/* A reader that entered after the grace period began is not waited for. */
static void test_later_reader(void)
{
	struct reader old, later;
	struct syncer s;
	uint64_t seq0;

	if (!ok(reader_start(&old, true, 1, true) && reader_start(&later, true, 1, false),
		"later reader: an old reader holds a section, a later one is registered"))
		return;
	seq0 = gp_seq();
	syncer_start(&s, &old);
	ok(wait_gp_started(seq0), "later reader: the grace period began");
	sleep_ms(10);
	set(&later.go, 1);
	ok(wait_for(&later.in_section, 1, LONG_WAIT),
	   "later reader: enters its section while the grace period waits");
	sleep_ms(BLOCKED_MS / 2);
	ok(!get(&s.done), "later reader: synchronize_rcu still waits for the old one");
	set(&old.release, 1);
	ok(wait_for(&s.done, 1, LONG_WAIT),
	   "later reader: synchronize_rcu returns while the later reader still holds its section");
	ok(!get(&later.unlocking), "later reader: ... it does");
	join_within(s.thread, LONG_WAIT);
	reader_finish(&old);
	reader_finish(&later);
}

/* A reader blocked inside its section only delays the grace period. */
struct sleeper {
	int in_section, unlocking;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *sl = arg;

	rcu_read_lock();
	set(&sl->in_section, 1);
	sleep_ms(200);
	set(&sl->unlocking, 1);
	rcu_read_unlock();
	return NULL;
}

static void test_blocked_reader(void)
{
	struct sleeper sl = { 0, 0 };
	pthread_t t;
	double t0, dt;

	pthread_create(&t, NULL, sleeper_main, &sl);
	wait_for(&sl.in_section, 1, LONG_WAIT);
	t0 = now();
	synchronize_rcu();
	dt = now() - t0;
	ok(get(&sl.unlocking), "blocked reader: synchronize_rcu returned after it woke and unlocked");
	ok(dt >= 0.15, "blocked reader: the grace period took %.0f ms (>= ~200 ms)", dt * 1e3);
	ok(join_within(t, LONG_WAIT), "blocked reader: the reader finished");
}

/*
 * While a grace period waits for a long reader, a new thread can still take
 * its first read lock (which registers it) and a registered thread can exit
 * (which unregisters it): neither waits for that reader.
 */
struct newcomer {
	struct reader *pre;	/* pre-registered thread, exits when released */
	int entered, done;
};

static void *newcomer_main(void *arg)
{
	struct newcomer *nc = arg;

	rcu_read_lock();
	set(&nc->entered, 1);
	rcu_read_unlock();
	set(&nc->done, 1);
	return NULL;
}

static void test_register_during_gp(void)
{
	struct reader holder, quitter;
	struct newcomer nc = { NULL, 0, 0 };
	struct syncer s;
	pthread_t t;
	uint64_t seq0;
	bool joined_quitter, joined_newcomer;

	if (!ok(reader_start(&holder, false, 1, true) && reader_start(&quitter, true, 1, false),
		"registration during a grace period: a reader holds a section"))
		return;
	seq0 = gp_seq();
	syncer_start(&s, &holder);
	wait_gp_started(seq0);
	sleep_ms(20);	/* let it settle into waiting for the holder */

	pthread_create(&t, NULL, newcomer_main, &nc);
	ok(wait_for(&nc.done, 1, 2.0),
	   "a new thread's first rcu_read_lock does not wait for the grace period");
	joined_newcomer = join_within(t, 2.0);
	/* The quitter enters and leaves a section, then exits. */
	set(&quitter.go, 1);
	set(&quitter.release, 1);
	joined_quitter = join_within(quitter.thread, 2.0);
	ok(joined_newcomer && joined_quitter,
	   "registered threads exit without waiting for the grace period");
	ok(!get(&s.done), "... which still waits for the holder");
	set(&holder.release, 1);
	ok(wait_for(&s.done, 1, LONG_WAIT), "... and ends when the holder leaves");
	join_within(s.thread, LONG_WAIT);
	reader_finish(&holder);
	if (!joined_quitter)
		join_within(quitter.thread, LONG_WAIT);
	if (!joined_newcomer)
		join_within(t, LONG_WAIT);
}

/* Threads that read and exit, without unregistering, are forgotten. */
static void *read_and_exit(void *arg)
{
	int explicit = *(int *)arg;

	if (explicit & 1)
		rcu_register_thread();
	rcu_read_lock();
	rcu_read_unlock();
	if (explicit & 2) {
		rcu_unregister_thread();
		rcu_unregister_thread();	/* twice: harmless */
		rcu_read_lock();		/* and registers again */
		rcu_read_unlock();
	}
	return NULL;
}

static void test_exited_threads(void)
{
	enum { NT = 32 };
	pthread_t t[NT];
	int modes[NT];
	struct syncer s;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < NT; i++) {
			modes[i] = i % 4;
			pthread_create(&t[i], NULL, read_and_exit, &modes[i]);
		}
		for (int i = 0; i < NT; i++)
			pthread_join(t[i], NULL);
	}
	syncer_start(&s, NULL);
	ok(wait_for(&s.done, 1, LONG_WAIT),
	   "%d threads read and exited: synchronize_rcu does not wait for them", 2 * NT);
	join_within(s.thread, LONG_WAIT);

	/* This thread, registered explicitly, twice: harmless. */
	rcu_register_thread();
	rcu_register_thread();
	rcu_read_lock();
	rcu_read_unlock();
	synchronize_rcu();
	ok(1, "rcu_register_thread twice, then a section and a grace period");
}

/* Concurrent grace periods (batched) with a reader churning sections. */
struct churn {
	int stop;
	long sections;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;

	while (!get(&c->stop)) {
		rcu_read_lock();
		rcu_read_lock();
		rcu_read_unlock();
		rcu_read_unlock();
		c->sections++;
	}
	return NULL;
}

static void *sync_many(void *arg)
{
	for (int i = 0; i < 50; i++)
		synchronize_rcu();
	inc(arg);
	return NULL;
}

static void test_concurrent_gps(void)
{
	struct churn c = { 0, 0 };
	pthread_t rt, st[4];
	int finished = 0;

	pthread_create(&rt, NULL, churn_main, &c);
	for (int i = 0; i < 4; i++)
		pthread_create(&st[i], NULL, sync_many, &finished);
	ok(wait_for(&finished, 4, 3 * LONG_WAIT),
	   "4 threads x 50 synchronize_rcu while a reader churns sections: all return");
	set(&c.stop, 1);
	for (int i = 0; i < 4; i++)
		join_within(st[i], LONG_WAIT);
	join_within(rt, LONG_WAIT);
	ok(c.sections > 0, "... and the reader was never blocked (%ld sections)", c.sections);
}

/* ------------------------------------------------------------------------ */
/* Pointers                                                                 */
/* ------------------------------------------------------------------------ */

struct obj {
	int a, b;
	struct rcu_head rh;
};

static void test_pointers(void)
{
	static struct obj o1 = { 1, 10, { NULL, NULL } }, o2 = { 2, 20, { NULL, NULL } };
	struct obj *gp = NULL, *p, *old;

	RCU_INIT_POINTER(gp, &o1);
	ok(rcu_access_pointer(gp) == &o1, "RCU_INIT_POINTER stores; rcu_access_pointer reads");
	rcu_read_lock();
	p = rcu_dereference(gp);
	ok(p == &o1 && p->a == 1 && p->b == 10, "rcu_dereference gives the object");
	rcu_read_unlock();

	rcu_assign_pointer(gp, &o2);
	ok(rcu_access_pointer(gp) == &o2, "rcu_assign_pointer publishes");
	ok(rcu_dereference_protected(gp, 1) == &o2, "rcu_dereference_protected");

	old = rcu_replace_pointer(gp, &o1, 1);
	ok(old == &o2 && rcu_access_pointer(gp) == &o1,
	   "rcu_replace_pointer returns the old pointer and publishes the new");
	old = rcu_replace_pointer(gp, NULL, true);
	ok(old == &o1 && rcu_access_pointer(gp) == NULL, "rcu_replace_pointer to NULL");
	RCU_INIT_POINTER(gp, NULL);
	rcu_read_lock();
	ok(rcu_dereference(gp) == NULL, "rcu_dereference of NULL");
	rcu_read_unlock();

	/* Types are kept: these must compile without casts. */
	const struct obj *cp = NULL;
	rcu_assign_pointer(cp, &o1);
	ok(rcu_access_pointer(cp)->a == 1, "pointer to const");
}

/* ------------------------------------------------------------------------ */
/* Polled grace periods                                                     */
/* ------------------------------------------------------------------------ */

static void test_polled(void)
{
	unsigned long c1, c2;
	struct reader r;
	struct syncer s;
	uint64_t seq0;

	c1 = get_state_synchronize_rcu();
	ok(!poll_state_synchronize_rcu(c1), "poll: false right after get_state (no grace period since)");
	c2 = get_state_synchronize_rcu();
	ok(!poll_state_synchronize_rcu(c2), "poll: a second cookie, also false");
	synchronize_rcu();
	ok(poll_state_synchronize_rcu(c1) && poll_state_synchronize_rcu(c2),
	   "poll: true after synchronize_rcu");
	ok(poll_state_synchronize_rcu(c1), "poll: still true later");

	/* A grace period already running when the cookie is taken does not count. */
	if (!reader_start(&r, false, 1, true))
		return;
	seq0 = gp_seq();
	syncer_start(&s, &r);
	wait_gp_started(seq0);
	c1 = get_state_synchronize_rcu();
	set(&r.release, 1);
	wait_for(&s.done, 1, LONG_WAIT);
	ok(!poll_state_synchronize_rcu(c1),
	   "poll: false after a grace period that began before the cookie");
	synchronize_rcu();
	ok(poll_state_synchronize_rcu(c1), "poll: true after the next one");
	join_within(s.thread, LONG_WAIT);
	reader_finish(&r);

	/* Cookies taken while a reader holds a section. */
	rcu_read_lock();
	c1 = get_state_synchronize_rcu();
	ok(!poll_state_synchronize_rcu(c1), "poll: false inside a read section");
	rcu_read_unlock();
	synchronize_rcu();
	ok(poll_state_synchronize_rcu(c1), "poll: true after the section and a grace period");
}

/* ------------------------------------------------------------------------ */
/* call_rcu, rcu_barrier, kfree_rcu                                         */
/* ------------------------------------------------------------------------ */

struct cb_probe {
	struct rcu_head rh;
	struct reader *watch;
	int ran;
	int saw_unlocking;
	pid_t tid;
};

static void cb_probe_func(struct rcu_head *rh)
{
	struct cb_probe *p = container_of(rh, struct cb_probe, rh);

	p->tid = gettid_();
	if (p->watch)
		set(&p->saw_unlocking, get(&p->watch->unlocking));
	set(&p->ran, 1);
}

static void test_call_rcu(void)
{
	struct reader r;
	struct cb_probe p;

	memset(&p, 0, sizeof(p));
	if (!ok(reader_start(&r, false, 1, true), "call_rcu: a reader holds a section"))
		return;
	p.watch = &r;
	call_rcu(&p.rh, cb_probe_func);
	sleep_ms(BLOCKED_MS);
	ok(!get(&p.ran), "call_rcu: the callback has not run after %d ms", BLOCKED_MS);
	set(&r.release, 1);
	ok(wait_for(&p.ran, 1, LONG_WAIT), "call_rcu: it runs once the reader leaves");
	ok(get(&p.saw_unlocking), "call_rcu: ... not before");
	ok(p.tid != gettid_() && p.tid != 0, "call_rcu: on another (the library's) thread");
	reader_finish(&r);

	/* rcu_barrier with nothing queued returns at once. */
	rcu_barrier();
	rcu_barrier();
	ok(1, "rcu_barrier with nothing queued returns");
}

static int slow_count;

static void slow_cb(struct rcu_head *rh)
{
	sleep_ms(50);
	inc(&slow_count);
	free(rh);
}

static int many_count;

static void count_cb(struct rcu_head *rh)
{
	inc(&many_count);
	free(rh);
}

static void *queue_many(void *arg)
{
	int n = *(int *)arg;

	for (int i = 0; i < n; i++) {
		struct rcu_head *rh = malloc(sizeof(*rh));

		rcu_read_lock();	/* call_rcu from inside a section is fine */
		call_rcu(rh, count_cb);
		rcu_read_unlock();
	}
	return NULL;
}

static void test_rcu_barrier(void)
{
	enum { NQ = 4, PER = 2500 };
	pthread_t t[NQ];
	int per = PER;
	struct reader r;

	call_rcu(malloc(sizeof(struct rcu_head)), slow_cb);
	call_rcu(malloc(sizeof(struct rcu_head)), slow_cb);
	rcu_barrier();
	is(get(&slow_count), 2, "rcu_barrier waits for slow callbacks to finish");

	for (int i = 0; i < NQ; i++)
		pthread_create(&t[i], NULL, queue_many, &per);
	for (int i = 0; i < NQ; i++)
		pthread_join(t[i], NULL);
	rcu_barrier();
	is(get(&many_count), NQ * PER, "rcu_barrier after %d call_rcu from %d threads: all ran",
	   NQ * PER, NQ);

	/* rcu_barrier also waits out the grace period a reader holds up. */
	if (!reader_start(&r, false, 1, true))
		return;
	call_rcu(malloc(sizeof(struct rcu_head)), count_cb);
	sleep_ms(BLOCKED_MS / 2);
	is(get(&many_count), NQ * PER, "a held reader keeps the callback waiting");
	set(&r.release, 1);
	rcu_barrier();
	is(get(&many_count), NQ * PER + 1, "rcu_barrier returned after it ran");
	reader_finish(&r);
}

struct big {
	char pad[200];
	long tag;
	struct rcu_head rh;	/* not at offset 0: kfree_rcu must free the object */
	char tail[40];
};

static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}

static void test_kfree_rcu(void)
{
	enum { NB = 2000 };
	size_t before, mid, after;

	before = heap_in_use();
	for (int i = 0; i < NB; i++) {
		struct big *b = calloc(1, sizeof(*b));

		b->tag = i;
		kfree_rcu(b, rh);
	}
	mid = heap_in_use();
	rcu_barrier();
	after = heap_in_use();
	ok(1, "kfree_rcu of %d objects with the rcu_head inside, then rcu_barrier", NB);
	if (!UNDER_SANITIZER && mid >= before + NB * sizeof(struct big) / 2)
		ok(after + NB * sizeof(struct big) / 2 <= mid,
		   "kfree_rcu freed them (heap in use %zu -> %zu -> %zu bytes)", before, mid, after);
	else
		ok(1, "# SKIP heap accounting unavailable (sanitizer): ASan checks the frees");
}

/* ------------------------------------------------------------------------ */
/* fork                                                                     */
/* ------------------------------------------------------------------------ */

static int child_cb_ran;
/* A callback queued in the parent before the fork, to run in the child too. */
static struct cb_probe *child_expect_ran;

static void child_cb(struct rcu_head *rh)
{
	(void)rh;
	inc(&child_cb_ran);
}

/* In the child: everything at once; the exit status says what failed. */
static int child_checks(bool in_section)
{
	static struct obj o = { 7, 70, { NULL, NULL } };
	static struct obj *gp;
	struct rcu_head rh;
	struct big *b;
	unsigned long c;
	int bad = 0;

	if (in_section)
		rcu_read_unlock();	/* the section the parent was in */
	rcu_assign_pointer(gp, &o);
	rcu_read_lock();
	if (rcu_dereference(gp)->a != 7)
		bad |= 1;
	rcu_read_unlock();
	c = get_state_synchronize_rcu();
	synchronize_rcu();
	if (!poll_state_synchronize_rcu(c))
		bad |= 2;
	call_rcu(&rh, child_cb);
	rcu_barrier();
	if (get(&child_cb_ran) != 1)
		bad |= 4;
	if (child_expect_ran && !get(&child_expect_ran->ran))
		bad |= 8;
	b = calloc(1, sizeof(*b));
	kfree_rcu(b, rh);
	rcu_barrier();
	rcu_read_lock();
	rcu_read_lock();
	rcu_read_unlock();
	rcu_read_unlock();
	synchronize_rcu();
	return bad;
}

/* Fork now, run child_checks() in the child; the child's exit status. */
static int fork_and_check(const char *what, bool in_section)
{
	int status = 0;
	pid_t pid;
	double end;

	pid = fork();
	if (pid < 0) {
		diag("%s: fork: %s", what, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(20);
		_exit(child_checks(in_section));
	}
	end = now() + 4 * LONG_WAIT;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			diag("%s: the child hung; killed", what);
			return -1;
		}
		sleep_ms(2);
	}
	if (WIFSIGNALED(status)) {
		diag("%s: child killed by signal %d%s", what, WTERMSIG(status),
		     WTERMSIG(status) == SIGALRM ? " (alarm: it hung)" : "");
		return -1;
	}
	if (WEXITSTATUS(status))
		diag("%s: child checks failed: 0x%x", what, WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

/* Before this process has any thread (ThreadSanitizer's condition for fork). */
static void test_fork_single(void)
{
	rcu_read_lock();	/* this thread registered... */
	rcu_read_unlock();
	is(fork_and_check("fork", false), 0,
	   "fork: the child reads, synchronizes, call_rcu + rcu_barrier, kfree_rcu at once");
	rcu_read_lock();	/* ...and inside a section at the fork */
	is(fork_and_check("fork in a section", true), 0, "fork inside a read section: the child too");
	rcu_read_unlock();
}

/* The parent has readers inside sections and callbacks in flight. */
static void *release_later(void *arg)
{
	sleep_ms(BLOCKED_MS);
	set(&((struct reader *)arg)->release, 1);
	return NULL;
}

static void test_fork_threads(void)
{
	struct reader r;
	struct cb_probe p;
	pthread_t rel;
	uint64_t seq0;

	if (UNDER_TSAN) {
		ok(1, "# SKIP fork with threads: TSan does not support threads in the child");
		ok(1, "# SKIP fork with threads: TSan does not support threads in the child");
		return;
	}
	/* Another thread inside a section at the fork: gone in the child. */
	reader_start(&r, false, 1, true);
	is(fork_and_check("fork, another thread in a section", false), 0,
	   "fork while another thread holds a section: the child is not held up by it");
	reader_finish(&r);

	/*
	 * A callback batch waiting for a grace period when fork() is called
	 * (the grace period ends during the fork): the child's rcu_barrier
	 * must not wait for the batch that the parent's callback thread owns.
	 */
	memset(&p, 0, sizeof(p));
	reader_start(&r, false, 1, true);
	seq0 = gp_seq();
	call_rcu(&p.rh, cb_probe_func);
	wait_gp_started(seq0);
	pthread_create(&rel, NULL, release_later, &r);
	child_expect_ran = &p;
	is(fork_and_check("fork, callbacks in flight", false), 0,
	   "fork while callbacks wait for a grace period: they run in the child too, "
	   "and its rcu_barrier returns");
	child_expect_ran = NULL;
	pthread_join(rel, NULL);
	reader_finish(&r);
	rcu_barrier();
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);	/* nothing buffered for fork() to copy */
	tap_seed();
	alarm(120);	/* a hang ends the run (SIGALRM) rather than the runner's timeout */
	diag("reader fence (no membarrier): %d", (int)kipc_rcu_reader_fence);

	test_fork_single();	/* forks: before any thread */
	test_pointers();
	test_polled();
	test_waits_for_reader(true);
	test_waits_for_reader(false);
	test_nested();
	test_later_reader();
	test_blocked_reader();
	test_register_during_gp();
	test_exited_threads();
	test_concurrent_gps();
	test_call_rcu();
	test_rcu_barrier();
	test_kfree_rcu();
	test_fork_threads();
	diag("reader fence (no membarrier): %d", (int)kipc_rcu_reader_fence);
	return done_testing();
}
