// SPDX-License-Identifier: MIT
/*
 * User-space RCU: the registry of readers, grace periods, callbacks.  The
 * read side is inline in <kipc/rcu.h>; the argument is in docs/rcu.md.
 *
 * A reader's ctr holds the grace-period number its last outermost entry
 * read, shifted left, with bit 0 set inside the section.
 *
 * A grace period (under gp_lock):
 *   1. seq = ++gp_seq (a full barrier on this CPU);
 *   2. for about RCU_SEEN_NS, wait until every registered reader's ctr
 *      shows a number of seq or more: an entry that read seq or later
 *      (acquire) loads after the updater's removal, which precedes step 1,
 *      and the thread's older sections ended before that entry; if they
 *      all do, the grace period is over without a system call;
 *   3. otherwise membarrier(PRIVATE_EXPEDITED): every CPU running one of
 *      our threads executes a full barrier, and so does this one;
 *   4. wait until no registered reader is inside a section entered with a
 *      number below seq.
 * A reader whose section's ctr store was visible before step 3 is seen in
 * step 4 and waited for if it is older than seq.  A reader whose ctr store
 * was not yet visible at step 3 executes its section's loads after that
 * barrier, hence after the removal, and cannot hold what is about to be
 * freed.  Readers entering after step 1 read seq or later and are not
 * waited for.  A reader's unlock is a release store that clears bit 0, so
 * its section's loads are done when step 4 sees it clear.
 *
 * Step 2 alone is not enough for a reader outside any section: its next
 * entry's ctr store may still sit in its store buffer while that section
 * loads the old pointer (a store followed by a load is the one reordering
 * x86 allows), and only a barrier on its CPU settles that.  A thread that
 * reads often shows the new number within a few hundred nanoseconds, a few
 * percent of what an expedited membarrier costs when it must interrupt
 * another CPU (about 5 us here).  A thread that has entered no section since
 * the previous grace period began is taken to be idle and not waited for.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <kipc/rcu.h>
#include "arch.h"
#include "spin.h"

__thread struct kipc_rcu_reader kipc_rcu_reader_self __attribute__((tls_model("initial-exec")));
uint64_t kipc_rcu_gp_seq = 1;
bool kipc_rcu_reader_fence;

/* The readers, linked through their records; a dummy head. */
static struct kipc_rcu_reader registry = { .next = &registry, .prev = &registry };
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* How long step 2 waits for every reader to show the new number. */
#define RCU_SEEN_NS 1000

/*
 * Grace periods that ended in step 2, without membarrier(), under gp_lock:
 * a statistic, which tests/rcu_torture.c reads to know it tested that path.
 */
unsigned long kipc__rcu_fast_gps;

/* Grace periods: one at a time; gp_done is the last completed. */
static pthread_mutex_t gp_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t gp_done = 1;

static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;

static long membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

/*
 * Register for expedited membarrier (needed once per process, and again in a
 * fork child's new address space); if the kernel cannot, readers fence.
 */
static void membarrier_setup(void)
{
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0)
		__atomic_store_n(&kipc_rcu_reader_fence, true, __ATOMIC_SEQ_CST);
}

static void exit_thread(void *unused)
{
	(void)unused;
	kipc_rcu_unregister_thread();
}

static void rcu_init(void)
{
	membarrier_setup();
	pthread_key_create(&exit_key, exit_thread);
}

void kipc_rcu_register_thread(void)
{
	struct kipc_rcu_reader *r = &kipc_rcu_reader_self;

	if (r->registered)
		return;
	pthread_once(&rcu_once, rcu_init);
	/* The key's destructor runs at thread exit only for a non-NULL value. */
	pthread_setspecific(exit_key, r);
	pthread_mutex_lock(&registry_lock);
	r->next = registry.next;
	r->prev = &registry;
	registry.next->prev = r;
	registry.next = r;
	r->registered = true;
	pthread_mutex_unlock(&registry_lock);
}

void kipc_rcu_unregister_thread(void)
{
	struct kipc_rcu_reader *r = &kipc_rcu_reader_self;

	if (!r->registered)
		return;
	pthread_mutex_lock(&registry_lock);
	r->prev->next = r->next;
	r->next->prev = r->prev;
	r->registered = false;
	pthread_mutex_unlock(&registry_lock);
	pthread_setspecific(exit_key, NULL);
}

/* Sleep a little, longer each time: a reader may be preempted for long. */
static void backoff(unsigned int *n)
{
	struct timespec ts = { 0, 1000L << (*n < 10 ? *n : 10) };	/* 1 us .. 1 ms */

	if (*n < 64) {
		kipc__cpu_relax();
	} else {
		nanosleep(&ts, NULL);
		if (*n < 64 + 10)
			(*n)++;
		return;
	}
	(*n)++;
}

static bool entered_after(uint64_t ctr, uint64_t seq)
{
	return ctr >> 1 >= seq;
}

/*
 * Step 2: true if every reader but the caller (which is in no section, its
 * own program order settles that) showed an entry with seq or later within
 * RCU_SEEN_NS.  Spins only, with the registry lock held; gives up rather
 * than wait for a reader that is slow or idle.
 */
static bool readers_saw(uint64_t seq)
{
	struct kipc_rcu_reader *r, *self = &kipc_rcu_reader_self;
	struct kipc__spinwait w;
	bool all = true;

	kipc__spinwait_init(&w);
	pthread_mutex_lock(&registry_lock);
	for (r = registry.next; r != &registry && all; r = r->next) {
		uint64_t c;

		/* Acquire: that entry's thread's older sections are over. */
		while (!entered_after(c = __atomic_load_n(&r->ctr, __ATOMIC_ACQUIRE), seq) &&
		       !(r == self && !(c & 1))) {
			/*
			 * Out of sections since before the previous grace
			 * period began: an idle thread, not worth waiting for.
			 */
			if (kipc__spinwait_elapsed(&w) >= RCU_SEEN_NS ||
			    (!(c & 1) && !entered_after(c, seq - 1))) {
				all = false;
				break;
			}
			kipc__spinwait_relax(&w);
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return all;
}

/*
 * Step 4.  The registry lock is not held while sleeping: a thread taking
 * its first read lock (which registers it) or exiting (which unregisters
 * it) must not wait for a reader that holds up this grace period; that
 * reader might even be waiting for one of them.  After sleeping the scan
 * starts over, since records may have come and gone.  Starting over only
 * re-checks records: waiting for one in a section entered below seq is
 * never wrong, and it ends, since a section entered after step 3 reads seq
 * or later.
 */
static void wait_for_readers(uint64_t seq)
{
	struct kipc_rcu_reader *r;
	unsigned int n = 0;

	pthread_mutex_lock(&registry_lock);
restart:
	for (r = registry.next; r != &registry; r = r->next) {
		uint64_t c;

		/* Acquire pairs with read_unlock's release store. */
		while (((c = __atomic_load_n(&r->ctr, __ATOMIC_ACQUIRE)) & 1) &&
		       !entered_after(c, seq)) {
			if (n >= 64) {	/* backoff() sleeps from here on */
				pthread_mutex_unlock(&registry_lock);
				backoff(&n);
				pthread_mutex_lock(&registry_lock);
				goto restart;
			}
			backoff(&n);
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

void kipc_synchronize_rcu(void)
{
	uint64_t want, seq;

	/*
	 * Any grace period that starts after this load serves us, provided
	 * our removal is visible before the load: a full barrier, as in
	 * get_state_synchronize_rcu().  Without it the removal could still
	 * sit in this CPU's store buffer while another thread's grace period
	 * increments gp_seq and a reader, entering with that new number (so
	 * not waited for), reads the old pointer; that grace period would then
	 * end ours and the caller free what the reader holds.
	 */
	kipc_smp_mb();
	want = __atomic_load_n(&kipc_rcu_gp_seq, __ATOMIC_ACQUIRE) + 1;
	pthread_once(&rcu_once, rcu_init);
	pthread_mutex_lock(&gp_lock);
	if (gp_done >= want) {
		/* Someone ran a full grace period while we queued: batched. */
		pthread_mutex_unlock(&gp_lock);
		return;
	}
	seq = kipc_rcu_gp_seq + 1;
	__atomic_store_n(&kipc_rcu_gp_seq, seq, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&kipc_rcu_reader_fence, __ATOMIC_RELAXED)) {
		/* Readers fence after their ctr store: step 3 is ours alone. */
		kipc_smp_mb();
		wait_for_readers(seq);
	} else if (readers_saw(seq)) {
		kipc__rcu_fast_gps++;
	} else {
		/*
		 * Step 3, the full barrier on every CPU running our threads
		 * (and ours): orders our removal and the new seq before the
		 * scan's loads, and every reader's ctr store before, or its
		 * section's loads after.
		 */
		if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
			kipc_smp_mb();
		wait_for_readers(seq);
	}
	__atomic_store_n(&gp_done, seq, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&gp_lock);
}

unsigned long kipc_get_state_synchronize_rcu(void)
{
	kipc_smp_mb();	/* order the caller's removal before the snapshot */
	return (unsigned long)(__atomic_load_n(&kipc_rcu_gp_seq, __ATOMIC_ACQUIRE) + 1);
}

bool kipc_poll_state_synchronize_rcu(unsigned long cookie)
{
	bool done = __atomic_load_n(&gp_done, __ATOMIC_ACQUIRE) >= cookie;

	kipc_smp_mb();	/* order the caller's freeing after the check */
	return done;
}

/* ---- call_rcu: one library thread, grace periods batched ---- */

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cb_cond = PTHREAD_COND_INITIALIZER;	/* work queued */
static pthread_cond_t cb_done_cond = PTHREAD_COND_INITIALIZER;	/* a batch ran */
static struct kipc_rcu_head *cb_head, **cb_tail = &cb_head;
static uint64_t cb_queued, cb_invoked;	/* callbacks ever queued / run */
static bool cb_thread_running;
/*
 * The callback thread's batch, for fork_child(): while it waits for its
 * grace period (cb_wait, cb_wait_tail), and its length while it is invoked
 * (cb_invoking).  All under cb_lock.
 */
static struct kipc_rcu_head *cb_wait, **cb_wait_tail = &cb_wait;
static uint64_t cb_invoking;

static void invoke(struct kipc_rcu_head *head)
{
	if (KIPC__RCU_IS_OFFSET(head->func))
		free((char *)head - (uintptr_t)head->func);
	else
		head->func(head);
}

static void *cb_thread(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&cb_lock);
	for (;;) {
		struct kipc_rcu_head *list, *next;
		uint64_t n;

		while (!cb_head)
			pthread_cond_wait(&cb_cond, &cb_lock);
		/* Everything queued so far shares the next grace period. */
		n = cb_queued - cb_invoked;
		cb_wait = cb_head;
		cb_wait_tail = cb_tail;
		cb_head = NULL;
		cb_tail = &cb_head;
		pthread_mutex_unlock(&cb_lock);
		kipc_synchronize_rcu();
		pthread_mutex_lock(&cb_lock);
		list = cb_wait;
		cb_wait = NULL;
		cb_wait_tail = &cb_wait;
		cb_invoking = n;
		pthread_mutex_unlock(&cb_lock);
		for (; list; list = next) {
			next = list->next;
			invoke(list);
		}
		pthread_mutex_lock(&cb_lock);
		cb_invoked += n;
		cb_invoking = 0;
		pthread_cond_broadcast(&cb_done_cond);
	}
	return NULL;
}

/* With cb_lock held. */
static void cb_thread_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;

	if (cb_thread_running)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The library's thread takes no signals meant for the program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	cb_thread_running = pthread_create(&t, &attr, cb_thread, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

void kipc_call_rcu(struct kipc_rcu_head *head, kipc_rcu_callback_t func)
{
	head->func = func;
	head->next = NULL;
	pthread_mutex_lock(&cb_lock);
	*cb_tail = head;
	cb_tail = &head->next;
	cb_queued++;
	cb_thread_start();
	pthread_cond_signal(&cb_cond);
	pthread_mutex_unlock(&cb_lock);
}

void kipc_rcu_barrier(void)
{
	uint64_t target;

	pthread_mutex_lock(&cb_lock);
	target = cb_queued;
	if (cb_invoked < target)
		cb_thread_start();
	while (cb_invoked < target && cb_thread_running)
		pthread_cond_wait(&cb_done_cond, &cb_lock);
	pthread_mutex_unlock(&cb_lock);
}

/* ---- fork ---- */

/*
 * Only the callback queue's lock is taken around fork(): the child rebuilds
 * the registry and starts afresh with the grace-period lock, so fork() never
 * waits behind a grace period, which may itself be waiting for the read
 * section the forking thread is in.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&cb_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&cb_lock);
}

/*
 * The child has one thread, the one that forked: the registry keeps only
 * its record, the callback thread is gone (the next call_rcu() or
 * rcu_barrier() starts a new one, which runs what was queued) and the new
 * address space registers for membarrier.
 */
static void fork_child(void)
{
	struct kipc_rcu_reader *r = &kipc_rcu_reader_self;

	/*
	 * Another thread of the parent may have held these: in the child
	 * they guard nothing that thread left half-done (the registry is
	 * rebuilt here; a grace period cut short leaves gp_done behind
	 * gp_seq, which only makes the next one run).
	 */
	registry_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	gp_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	registry.next = registry.prev = &registry;
	if (r->registered) {
		r->next = r->prev = &registry;
		registry.next = registry.prev = r;
	}
	/*
	 * The parent's callback thread may have been waiting on these: their
	 * state counts a waiter that does not exist here, and signalling
	 * would wait for it forever.
	 */
	cb_cond = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	cb_done_cond = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	/*
	 * A batch that was waiting for its grace period is queued again, in
	 * front (it runs here after a grace period of the child's).  A batch
	 * being invoked is the parent's: the child counts it as run, so that
	 * rcu_barrier() does not wait for it forever (callbacks of it not yet
	 * run at the fork are not run in the child).
	 */
	if (cb_wait) {
		*cb_wait_tail = cb_head;
		if (!cb_head)
			cb_tail = cb_wait_tail;
		cb_head = cb_wait;
		cb_wait = NULL;
		cb_wait_tail = &cb_wait;
	}
	cb_invoked += cb_invoking;
	cb_invoking = 0;
	cb_thread_running = false;	/* restarted by the next call_rcu/rcu_barrier */
	membarrier_setup();
	pthread_mutex_unlock(&cb_lock);
}

__attribute__((constructor)) static void rcu_atfork(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
