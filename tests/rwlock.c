// SPDX-License-Identifier: MIT
/*
 * kipc/rwlock.h: every function and macro of the reader-writer spinlock,
 * the kernel's trylock conventions (1/0), KIPC_PSHARED between processes,
 * the _bh/_irq/_irqsave forms and write_trylock_irqsave with their exact
 * signal-mask semantics, the kernel names, reader/writer exclusion between
 * threads, and the two starvation guarantees: a writer gets in under a
 * continuous stream of overlapping readers, a reader under a continuous
 * stream of writers.
 *
 * Order matters: the forked children come before any thread is created.
 */
#include <kipc/linux.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers: time, children, signal masks.                                   */
/* ------------------------------------------------------------------------ */

/* Busy for about ns nanoseconds (a critical section that takes a while). */
static void busy_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end)
		;
}

static const int sync_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS };

/*
 * Signals this system does not let a thread block (SIGKILL, SIGSTOP, glibc's
 * 32 and 33, and under qemu-user the last real-time signals): left out of
 * the "every asynchronous signal" checks.  Bit n-1 for signal n.
 */
static uint64_t unblockable;
static int env_limited;

static void probe_unblockable(void)
{
	sigset_t all, old, got;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_sigmask(SIG_SETMASK, &old, &got);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sigismember(&got, sig) == 1)
			continue;
		unblockable |= 1ull << (sig - 1);
		if (sig != SIGKILL && sig != SIGSTOP && !(sig >= 32 && sig < SIGRTMIN)) {
			env_limited = 1;
			diag("signal %d cannot be blocked here (qemu-user?)", sig);
		}
	}
}

static int is_async(int sig)
{
	for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
		if (sync_signals[i] == sig)
			return 0;
	return !(unblockable >> (sig - 1) & 1);
}

static sigset_t cur_mask(void)
{
	sigset_t m;

	pthread_sigmask(SIG_BLOCK, NULL, &m);
	return m;
}

static unsigned long mask_word(const sigset_t *m)
{
	unsigned long w = 0;

	for (int sig = 1; sig < NSIG && sig <= 64; sig++)
		if (sigismember(m, sig) == 1)
			w |= 1ul << (sig - 1);
	return w;
}

static int mask_is(const sigset_t *want)
{
	sigset_t m = cur_mask();

	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&m, sig) != sigismember(want, sig)) {
			diag("signal %d: blocked %d, want %d", sig,
			     sigismember(&m, sig), sigismember(want, sig));
			return 0;
		}
	return 1;
}

/* Every blockable asynchronous signal blocked, every synchronous one open. */
static int disabled_ok(void)
{
	sigset_t m = cur_mask();

	for (int sig = 1; sig < NSIG; sig++)
		if (is_async(sig) && sigismember(&m, sig) != 1) {
			diag("asynchronous signal %d is not blocked", sig);
			return 0;
		}
	for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
		if (sigismember(&m, sync_signals[i]) == 1) {
			diag("synchronous signal %d is blocked", sync_signals[i]);
			return 0;
		}
	/* Under qemu-user kipc_irqs_disabled() cannot hold: see spinlock.c. */
	if (!kipc_irqs_disabled() && !env_limited) {
		diag("kipc_irqs_disabled() is false");
		return 0;
	}
	return 1;
}

static int no_async_blocked(void)
{
	sigset_t m = cur_mask();

	for (int sig = 1; sig < NSIG; sig++)
		if (is_async(sig) && sigismember(&m, sig) == 1) {
			diag("asynchronous signal %d is blocked", sig);
			return 0;
		}
	return !kipc_irqs_disabled();
}

static void set_mask(const sigset_t *m)
{
	pthread_sigmask(SIG_SETMASK, m, NULL);
}

static void set_empty_mask(void)
{
	sigset_t m;

	sigemptyset(&m);
	set_mask(&m);
}

static sigset_t custom_mask(void)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	sigaddset(&m, SIGHUP);
	sigaddset(&m, SIGRTMIN + 2);
	sigaddset(&m, SIGRTMIN + 9);
	return m;
}

/* ------------------------------------------------------------------------ */
/* Single-threaded semantics.                                               */
/* ------------------------------------------------------------------------ */

static KIPC_DEFINE_RWLOCK(static_rw);

static void test_basic(void)
{
	kipc_rwlock_t *l = &static_rw;
	kipc_rwlock_t g;

	is(kipc_read_trylock(l), 1, "KIPC_DEFINE_RWLOCK: read_trylock on a free lock returns 1");
	is(kipc_read_trylock(l), 1, "read_trylock with another reader in returns 1");
	is(kipc_write_trylock(l), 0, "write_trylock with readers in returns 0");
	kipc_read_unlock(l);
	is(kipc_write_trylock(l), 0, "write_trylock with one reader left returns 0");
	kipc_read_unlock(l);
	is(kipc_write_trylock(l), 1, "write_trylock after the readers left returns 1");
	is(kipc_read_trylock(l), 0, "read_trylock with a writer in returns 0");
	is(kipc_write_trylock(l), 0, "write_trylock with a writer in returns 0");
	kipc_write_unlock(l);
	is(kipc_read_trylock(l), 1, "read_trylock after write_unlock returns 1");
	kipc_read_unlock(l);

	kipc_read_lock(l);
	ok(kipc_write_trylock(l) == 0, "read_lock: a writer is kept out");
	kipc_read_lock(l);	/* a second reader does not wait */
	ok(kipc_read_trylock(l) == 1, "read_lock: other readers get in");
	kipc_read_unlock(l);
	kipc_read_unlock(l);
	kipc_read_unlock(l);
	ok(kipc_write_trylock(l) == 1, "read_unlock: all readers gone, a writer gets in");
	kipc_write_unlock(l);

	kipc_write_lock(l);
	ok(kipc_read_trylock(l) == 0 && kipc_write_trylock(l) == 0,
	   "write_lock: readers and writers kept out");
	kipc_write_unlock(l);
	ok(kipc_read_trylock(l) == 1, "write_unlock: free for readers");
	kipc_read_unlock(l);
	ok(kipc_write_trylock(l) == 1, "write_unlock: free for writers");
	kipc_write_unlock(l);

	memset(&g, 0xa5, sizeof(g));
	kipc_rwlock_init(&g);
	ok(kipc_write_trylock(&g) == 1, "rwlock_init on garbage: free (write_trylock 1)");
	kipc_write_unlock(&g);
	memset(&g, 0xff, sizeof(g));
	kipc_rwlock_init_flags(&g, 0);
	ok(kipc_read_trylock(&g) == 1 && kipc_write_trylock(&g) == 0,
	   "rwlock_init_flags(0) on garbage: free");
	kipc_read_unlock(&g);
	kipc_write_lock(&g);
	kipc_write_unlock(&g);
	ok(kipc_write_trylock(&g) == 1, "rwlock_init_flags(0): write_lock/unlock cycle");
	kipc_write_unlock(&g);
}

/* ------------------------------------------------------------------------ */
/* KIPC_PSHARED between processes.                                          */
/* ------------------------------------------------------------------------ */

/*
 * Each child is forked before the parent takes the lock and told when to
 * look through a phase word: a lock held across fork() would look held by
 * the child itself to ThreadSanitizer.
 */
struct shared_rw {
	kipc_rwlock_t lock;
	int phase;		/* atomic */
	int got;		/* atomic */
};

static void test_pshared(void)
{
	struct shared_rw *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	kipc_rwlock_t *l;
	pid_t pid;
	int status;

	if (sh == MAP_FAILED) {
		ok(0, "mmap shared memory: %s", strerror(errno));
		return;
	}
	l = &sh->lock;
	memset(l, 0x5a, sizeof(*l));
	kipc_rwlock_init_flags(l, KIPC_PSHARED);
	ok(kipc_write_trylock(l) == 1, "rwlock_init_flags(KIPC_PSHARED) in shared memory: free");
	kipc_write_unlock(l);

	set_phase(&sh->phase, 0);
	pid = fork_child();
	if (pid == 0) {
		wait_phase(&sh->phase, 1);
		_exit((kipc_read_trylock(l) == 0) | (kipc_write_trylock(l) == 0) << 1);
	}
	kipc_write_lock(l);
	set_phase(&sh->phase, 1);
	is(wait_child(pid), 3, "PSHARED: the parent's write lock keeps the child's read and write out");
	kipc_write_unlock(l);

	set_phase(&sh->phase, 0);
	pid = fork_child();
	if (pid == 0) {
		int r;

		wait_phase(&sh->phase, 1);
		r = kipc_read_trylock(l);
		if (r)
			kipc_read_unlock(l);
		_exit(r | (kipc_write_trylock(l) == 0) << 1);
	}
	kipc_read_lock(l);
	set_phase(&sh->phase, 1);
	is(wait_child(pid), 3, "PSHARED: with the parent reading, the child reads, cannot write");
	kipc_read_unlock(l);

	/* A child writer waits for the parent's reader, then dies holding it. */
	set_phase(&sh->phase, 0);
	sh->got = 0;
	pid = fork_child();
	if (pid == 0) {
		wait_phase(&sh->phase, 1);
		kipc_write_lock(l);
		__atomic_store_n(&sh->got, 1, __ATOMIC_RELEASE);
		_exit(0);
	}
	kipc_read_lock(l);
	set_phase(&sh->phase, 1);
	sleep_ms(100);
	ok(waitpid(pid, &status, WNOHANG) == 0 && !__atomic_load_n(&sh->got, __ATOMIC_ACQUIRE),
	   "PSHARED: the child's write_lock waits for the parent's reader");
	kipc_read_unlock(l);
	is(wait_child(pid), 0, "PSHARED: the child's write_lock got in after read_unlock");
	ok(kipc_read_trylock(l) == 0, "PSHARED: the parent sees the child's write hold");
	munmap(sh, 4096);
}

/* ------------------------------------------------------------------------ */
/* _bh, _irq, _irqsave.                                                     */
/* ------------------------------------------------------------------------ */

static void test_bh(void)
{
	KIPC_DEFINE_RWLOCK(l);
	sigset_t m0 = custom_mask();

	set_mask(&m0);
	kipc_read_lock_bh(&l);
	ok(kipc_write_trylock(&l) == 0 && kipc_read_trylock(&l) == 1, "read_lock_bh: a reader is in");
	kipc_read_unlock(&l);
	ok(mask_is(&m0), "read_lock_bh leaves the signal mask alone");
	kipc_read_unlock_bh(&l);
	ok(kipc_write_trylock(&l) == 1, "read_unlock_bh: the reader left");
	kipc_write_unlock(&l);
	kipc_write_lock_bh(&l);
	ok(kipc_read_trylock(&l) == 0 && kipc_write_trylock(&l) == 0, "write_lock_bh: the writer is in");
	ok(mask_is(&m0), "write_lock_bh leaves the signal mask alone");
	kipc_write_unlock_bh(&l);
	ok(kipc_write_trylock(&l) == 1, "write_unlock_bh: the writer left");
	kipc_write_unlock(&l);
	ok(mask_is(&m0), "write_unlock_bh leaves the signal mask alone");
	set_empty_mask();
}

static void test_irq(void)
{
	KIPC_DEFINE_RWLOCK(l);
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	sigaddset(&m, SIGRTMIN + 4);

	set_empty_mask();
	kipc_read_lock_irq(&l);
	ok(kipc_write_trylock(&l) == 0, "read_lock_irq: a reader is in");
	ok(disabled_ok(), "read_lock_irq blocks every asynchronous signal, not the synchronous");
	kipc_read_unlock_irq(&l);
	ok(kipc_write_trylock(&l) == 1, "read_unlock_irq: the reader left");
	kipc_write_unlock(&l);
	ok(no_async_blocked(), "read_unlock_irq unblocks every asynchronous signal");

	set_mask(&m);
	kipc_read_lock_irq(&l);
	kipc_read_unlock_irq(&l);
	ok(no_async_blocked(), "read_unlock_irq unblocks even what was blocked before (local_irq_enable)");

	set_empty_mask();
	kipc_write_lock_irq(&l);
	ok(kipc_read_trylock(&l) == 0, "write_lock_irq: the writer is in");
	ok(disabled_ok(), "write_lock_irq blocks every asynchronous signal, not the synchronous");
	kipc_write_unlock_irq(&l);
	ok(kipc_read_trylock(&l) == 1, "write_unlock_irq: the writer left");
	kipc_read_unlock(&l);
	ok(no_async_blocked(), "write_unlock_irq unblocks every asynchronous signal");

	set_mask(&m);
	kipc_write_lock_irq(&l);
	kipc_write_unlock_irq(&l);
	ok(no_async_blocked(), "write_unlock_irq unblocks even what was blocked before");
	set_empty_mask();
}

static void test_irqsave(void)
{
	KIPC_DEFINE_RWLOCK(l);
	KIPC_DEFINE_RWLOCK(l2);
	sigset_t m0 = custom_mask(), inside;
	unsigned long flags = 0, flags2 = 0;
	int r;

	set_mask(&m0);
	kipc_read_lock_irqsave(&l, flags);
	is(flags, mask_word(&m0), "read_lock_irqsave: flags == the mask before");
	ok(kipc_write_trylock(&l) == 0, "read_lock_irqsave: a reader is in");
	ok(disabled_ok(), "read_lock_irqsave: asynchronous blocked, synchronous open");
	kipc_read_unlock_irqrestore(&l, flags);
	ok(mask_is(&m0), "read_unlock_irqrestore restores exactly the saved mask");
	ok(kipc_write_trylock(&l) == 1, "read_unlock_irqrestore: the reader left");
	kipc_write_unlock(&l);

	kipc_write_lock_irqsave(&l, flags);
	is(flags, mask_word(&m0), "write_lock_irqsave: flags == the mask before");
	ok(kipc_read_trylock(&l) == 0, "write_lock_irqsave: the writer is in");
	ok(disabled_ok(), "write_lock_irqsave: asynchronous blocked, synchronous open");
	kipc_write_unlock_irqrestore(&l, flags);
	ok(mask_is(&m0), "write_unlock_irqrestore restores exactly the saved mask");
	ok(kipc_read_trylock(&l) == 1, "write_unlock_irqrestore: the writer left");
	kipc_read_unlock(&l);

	/* Nested: a read irqsave inside a write irqsave of another lock. */
	kipc_write_lock_irqsave(&l, flags);
	inside = cur_mask();
	kipc_read_lock_irqsave(&l2, flags2);
	is(flags2, mask_word(&inside), "nested: the inner flags hold the disabled mask");
	kipc_read_unlock_irqrestore(&l2, flags2);
	ok(mask_is(&inside), "nested: the inner restore keeps signals disabled");
	kipc_write_unlock_irqrestore(&l, flags);
	ok(mask_is(&m0), "nested: the outer restore gives back the original mask");

	/* write_trylock_irqsave. */
	flags = 0;
	r = kipc_write_trylock_irqsave(&l, flags);
	is(r, 1, "write_trylock_irqsave on a free lock returns 1");
	is(flags, mask_word(&m0), "write_trylock_irqsave saved the mask");
	ok(disabled_ok() && kipc_read_trylock(&l) == 0, "write_trylock_irqsave: held, disabled");
	kipc_write_unlock_irqrestore(&l, flags);
	ok(mask_is(&m0), "write_trylock_irqsave + write_unlock_irqrestore: the original mask");

	kipc_read_lock(&l);
	r = kipc_write_trylock_irqsave(&l, flags);
	is(r, 0, "write_trylock_irqsave with a reader in returns 0");
	ok(mask_is(&m0), "failed write_trylock_irqsave (reader) restores exactly the saved mask");
	kipc_read_unlock(&l);

	kipc_write_lock(&l);
	r = kipc_write_trylock_irqsave(&l, flags);
	is(r, 0, "write_trylock_irqsave with a writer in returns 0");
	ok(mask_is(&m0), "failed write_trylock_irqsave (writer) restores exactly the saved mask");
	kipc_write_unlock(&l);
	ok(kipc_write_trylock(&l) == 1, "the lock is free at the end");
	kipc_write_unlock(&l);
	set_empty_mask();
}

/* ------------------------------------------------------------------------ */
/* The kernel's names, from <kipc/linux.h>.                                 */
/* ------------------------------------------------------------------------ */

static DEFINE_RWLOCK(kernel_rw);

static void test_kernel_names(void)
{
	rwlock_t a = __RW_LOCK_UNLOCKED(a), b;
	unsigned long flags = 0;
	sigset_t m0 = custom_mask();

	rwlock_init(&b);
	ok(read_trylock(&kernel_rw) == 1 && read_trylock(&a) == 1 && read_trylock(&b) == 1,
	   "linux.h: DEFINE_RWLOCK, __RW_LOCK_UNLOCKED, rwlock_init, read_trylock");
	read_unlock(&kernel_rw);
	read_unlock(&a);
	read_unlock(&b);
	read_lock(&a);
	ok(write_trylock(&a) == 0, "linux.h: read_lock, write_trylock");
	read_unlock(&a);
	write_lock(&a);
	ok(read_trylock(&a) == 0, "linux.h: write_lock");
	write_unlock(&a);
	read_lock_bh(&a);
	read_unlock_bh(&a);
	write_lock_bh(&a);
	write_unlock_bh(&a);
	ok(write_trylock(&a) == 1, "linux.h: read_lock_bh/unlock_bh, write_lock_bh/unlock_bh");
	write_unlock(&a);

	set_empty_mask();
	read_lock_irq(&a);
	ok(disabled_ok(), "linux.h: read_lock_irq");
	read_unlock_irq(&a);
	write_lock_irq(&a);
	ok(disabled_ok() && read_trylock(&a) == 0, "linux.h: write_lock_irq");
	write_unlock_irq(&a);
	ok(no_async_blocked() && !irqs_disabled(), "linux.h: read_unlock_irq, write_unlock_irq");

	set_mask(&m0);
	read_lock_irqsave(&a, flags);
	ok(flags == mask_word(&m0) && disabled_ok(), "linux.h: read_lock_irqsave");
	read_unlock_irqrestore(&a, flags);
	ok(mask_is(&m0), "linux.h: read_unlock_irqrestore");
	write_lock_irqsave(&a, flags);
	ok(flags == mask_word(&m0) && disabled_ok(), "linux.h: write_lock_irqsave");
	write_unlock_irqrestore(&a, flags);
	ok(mask_is(&m0), "linux.h: write_unlock_irqrestore");
	ok(write_trylock_irqsave(&a, flags) == 1 && disabled_ok(), "linux.h: write_trylock_irqsave");
	write_unlock_irqrestore(&a, flags);
	ok(mask_is(&m0) && write_trylock(&a) == 1, "linux.h: all released, mask restored");
	write_unlock(&a);
	set_empty_mask();
}

/* ------------------------------------------------------------------------ */
/* Between threads: blocking and ordering.                                  */
/* ------------------------------------------------------------------------ */

static kipc_rwlock_t tl = KIPC_RWLOCK_INIT;
static int seq;			/* atomic: order of events */
static int holder_go;		/* atomic: tells the holder to release */
static int holder_in;		/* atomic */

static void *reader_holder(void *arg)
{
	(void)arg;
	kipc_read_lock(&tl);
	__atomic_store_n(&holder_in, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&holder_go, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	kipc_read_unlock(&tl);
	return NULL;
}

static void *writer_holder(void *arg)
{
	(void)arg;
	kipc_write_lock(&tl);
	__atomic_store_n(&holder_in, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&holder_go, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	kipc_write_unlock(&tl);
	return NULL;
}

static void start_holder(pthread_t *th, void *(*fn)(void *))
{
	holder_in = 0;
	holder_go = 0;
	pthread_create(th, NULL, fn, NULL);
	while (!__atomic_load_n(&holder_in, __ATOMIC_ACQUIRE))
		sleep_ms(1);
}

static void stop_holder(pthread_t th)
{
	__atomic_store_n(&holder_go, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
}

struct waiter {
	pthread_t th;
	int write;
	int done;		/* atomic: sequence number when it got in */
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	if (w->write)
		kipc_write_lock(&tl);
	else
		kipc_read_lock(&tl);
	__atomic_store_n(&w->done, __atomic_add_fetch(&seq, 1, __ATOMIC_ACQ_REL), __ATOMIC_RELEASE);
	sleep_ms(2);
	if (w->write)
		kipc_write_unlock(&tl);
	else
		kipc_read_unlock(&tl);
	return NULL;
}

static int done_of(struct waiter *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

static void test_thread_blocking(void)
{
	pthread_t h;
	struct waiter w = { .write = 1 }, r = { .write = 0 };
	int got;

	/* Another thread reads: we can read, not write. */
	start_holder(&h, reader_holder);
	is(kipc_read_trylock(&tl), 1, "threads: read_trylock succeeds beside another thread's reader");
	kipc_read_unlock(&tl);
	is(kipc_write_trylock(&tl), 0, "threads: write_trylock fails beside another thread's reader");
	kipc_read_lock(&tl);	/* must not wait */
	ok(1, "threads: read_lock beside another reader returns at once");
	kipc_read_unlock(&tl);
	stop_holder(h);

	/* Another thread writes: we can do neither. */
	start_holder(&h, writer_holder);
	is(kipc_read_trylock(&tl), 0, "threads: read_trylock fails while another thread writes");
	is(kipc_write_trylock(&tl), 0, "threads: write_trylock fails while another thread writes");
	stop_holder(h);

	/* A writer waits for a reader; a reader arriving after it queues behind it. */
	seq = 0;
	start_holder(&h, reader_holder);
	pthread_create(&w.th, NULL, waiter_main, &w);
	sleep_ms(100);
	ok(done_of(&w) == 0, "threads: write_lock waits while another thread reads");
	got = kipc_read_trylock(&tl);
	if (got)
		kipc_read_unlock(&tl);
	is(got, 0, "threads: read_trylock fails while a writer waits (writer preference)");
	pthread_create(&r.th, NULL, waiter_main, &r);
	sleep_ms(100);
	ok(done_of(&r) == 0, "threads: a new reader waits behind the waiting writer");
	stop_holder(h);
	pthread_join(w.th, NULL);
	pthread_join(r.th, NULL);
	ok(done_of(&w) == 1 && done_of(&r) == 2,
	   "threads: the writer got in first, then the reader (w=%d r=%d)", done_of(&w), done_of(&r));

	/* A reader waits for a writer. */
	r.done = 0;
	start_holder(&h, writer_holder);
	pthread_create(&r.th, NULL, waiter_main, &r);
	sleep_ms(100);
	ok(done_of(&r) == 0, "threads: read_lock waits while another thread writes");
	stop_holder(h);
	pthread_join(r.th, NULL);
	ok(done_of(&r) != 0, "threads: the reader got in after write_unlock");
	ok(kipc_write_trylock(&tl) == 1, "threads: free at the end");
	kipc_write_unlock(&tl);
}

/* ------------------------------------------------------------------------ */
/* Between threads: invariants and starvation.                              */
/* ------------------------------------------------------------------------ */

static kipc_rwlock_t rw = KIPC_RWLOCK_INIT;
static int readers_in, writers_in;	/* atomic */
static int max_readers_in;		/* atomic */
static int violations;			/* atomic */
static int stop;			/* atomic */
static unsigned long data_a, data_b;	/* plain, protected by rw */

struct worker {
	pthread_t th;
	int write;
	int blocking_only;	/* no trylock loops: they do not queue */
	uint64_t hold_ns;
	unsigned long count;	/* atomic: the main thread watches it */
	unsigned int seed;
};

static void note_max(int n)
{
	int m = __atomic_load_n(&max_readers_in, __ATOMIC_RELAXED);

	while (n > m && !__atomic_compare_exchange_n(&max_readers_in, &m, n, 0,
						     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void read_side(struct worker *w)
{
	unsigned long flags = 0;
	int form = (int)(w->count % (w->blocking_only ? 3 : 4));

	switch (form) {
	case 0: kipc_read_lock(&rw); break;
	case 1: kipc_read_lock_bh(&rw); break;
	case 2: kipc_read_lock_irqsave(&rw, flags); break;
	default: while (!kipc_read_trylock(&rw)) sched_yield(); break;
	}
	note_max(__atomic_add_fetch(&readers_in, 1, __ATOMIC_ACQ_REL));
	if (__atomic_load_n(&writers_in, __ATOMIC_ACQUIRE) != 0)
		__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	if (data_a != data_b)
		__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	if (w->hold_ns)
		busy_ns(w->hold_ns);
	__atomic_sub_fetch(&readers_in, 1, __ATOMIC_ACQ_REL);
	switch (form) {
	case 0: case 3: kipc_read_unlock(&rw); break;
	case 1: kipc_read_unlock_bh(&rw); break;
	default: kipc_read_unlock_irqrestore(&rw, flags); break;
	}
	__atomic_fetch_add(&w->count, 1, __ATOMIC_RELAXED);
}

static void write_side(struct worker *w)
{
	unsigned long flags = 0;
	int form = (int)(w->count % (w->blocking_only ? 2 : 3));

	switch (form) {
	case 0: kipc_write_lock(&rw); break;
	case 1: kipc_write_lock_irqsave(&rw, flags); break;
	default: while (!kipc_write_trylock(&rw)) sched_yield(); break;
	}
	if (__atomic_fetch_add(&writers_in, 1, __ATOMIC_ACQ_REL) != 0)
		__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&readers_in, __ATOMIC_ACQUIRE) != 0)
		__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	data_a++;
	if (w->hold_ns)
		busy_ns(w->hold_ns);
	data_b++;
	__atomic_sub_fetch(&writers_in, 1, __ATOMIC_ACQ_REL);
	if (form == 1)
		kipc_write_unlock_irqrestore(&rw, flags);
	else
		kipc_write_unlock(&rw);
	__atomic_fetch_add(&w->count, 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (w->write)
			write_side(w);
		else
			read_side(w);
		/* A little random time outside, so the interleavings vary. */
		for (unsigned int i = rand_r(&w->seed) % 64; i; i--)
			__asm__ __volatile__("" ::: "memory");
	}
	return NULL;
}

static void reset_state(void)
{
	readers_in = writers_in = max_readers_in = violations = stop = 0;
	data_a = data_b = 0;
}

static void test_invariants(unsigned long seed)
{
	struct worker w[5];
	unsigned long writes = 0;
	int all_progress = 1;

	reset_state();
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 5; i++) {
		w[i].write = i < 2;
		w[i].seed = (unsigned int)(seed + (unsigned long)i);
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	}
	sleep_ms(500);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 5; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].write)
			writes += w[i].count;
		if (w[i].count == 0)
			all_progress = 0;
		diag("%s %d: %lu acquisitions", w[i].write ? "writer" : "reader", i, w[i].count);
	}
	is(violations, 0, "2 writers + 3 readers: no writer beside anyone, no torn data");
	is(data_a, writes, "2 writers + 3 readers: no lost write");
	ok(data_a == data_b, "2 writers + 3 readers: the data pair is consistent");
	ok(all_progress, "2 writers + 3 readers: every thread got in");
	diag("most readers inside at once: %d", max_readers_in);
}

/*
 * Three readers re-take the read lock as soon as they drop it and hold it
 * for a while each, so that at every instant some reader is inside: a
 * reader-preferring lock would never let the writer in.  The writer runs in
 * a thread of its own and the main thread gives up waiting at the deadline,
 * so a starved writer fails the test instead of hanging it.
 */
#define WRITER_TURNS 30

static void *one_writer_turns(void *arg)
{
	struct worker *w = arg;

	while (w->count < WRITER_TURNS && !__atomic_load_n(&stop, __ATOMIC_RELAXED))
		write_side(w);
	return NULL;
}

static void test_writer_not_starved(void)
{
	struct worker rd[3], wr;
	uint64_t t0, deadline, spent;
	unsigned long got;

	reset_state();
	memset(rd, 0, sizeof(rd));
	memset(&wr, 0, sizeof(wr));
	for (int i = 0; i < 3; i++) {
		rd[i].hold_ns = 200000;
		rd[i].blocking_only = 1;
		rd[i].seed = (unsigned int)i + 7;
		pthread_create(&rd[i].th, NULL, worker_main, &rd[i]);
	}
	sleep_ms(50);
	wr.write = 1;
	wr.blocking_only = 1;
	t0 = now_ns();
	pthread_create(&wr.th, NULL, one_writer_turns, &wr);
	deadline = t0 + 5000000000ull;
	while (__atomic_load_n(&wr.count, __ATOMIC_RELAXED) < WRITER_TURNS && now_ns() < deadline)
		sleep_ms(5);
	got = __atomic_load_n(&wr.count, __ATOMIC_RELAXED);
	spent = now_ns() - t0;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 3; i++)
		pthread_join(rd[i].th, NULL);
	pthread_join(wr.th, NULL);
	is(got, WRITER_TURNS, "writer not starved by 3 overlapping readers: %d turns within 5 s (took %.3f s)",
	   WRITER_TURNS, spent / 1e9);
	is(violations, 0, "writer vs overlapping readers: invariants held");
	ok(rd[0].count && rd[1].count && rd[2].count, "the readers ran meanwhile (%lu, %lu, %lu)",
	   rd[0].count, rd[1].count, rd[2].count);
	diag("most readers inside at once: %d", max_readers_in);
}

static void *one_reader_turns(void *arg)
{
	struct worker *w = arg;

	while (w->count < WRITER_TURNS && !__atomic_load_n(&stop, __ATOMIC_RELAXED))
		read_side(w);
	return NULL;
}

static void test_reader_not_starved(void)
{
	struct worker wr[3], rd;
	uint64_t deadline;
	unsigned long got;

	reset_state();
	memset(wr, 0, sizeof(wr));
	memset(&rd, 0, sizeof(rd));
	for (int i = 0; i < 3; i++) {
		wr[i].write = 1;
		wr[i].hold_ns = 100000;
		wr[i].blocking_only = 1;
		wr[i].seed = (unsigned int)i + 13;
		pthread_create(&wr[i].th, NULL, worker_main, &wr[i]);
	}
	sleep_ms(50);
	rd.blocking_only = 1;
	pthread_create(&rd.th, NULL, one_reader_turns, &rd);
	deadline = now_ns() + 5000000000ull;
	while (__atomic_load_n(&rd.count, __ATOMIC_RELAXED) < WRITER_TURNS && now_ns() < deadline)
		sleep_ms(5);
	got = __atomic_load_n(&rd.count, __ATOMIC_RELAXED);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 3; i++)
		pthread_join(wr[i].th, NULL);
	pthread_join(rd.th, NULL);
	is(got, WRITER_TURNS, "reader not starved by 3 continuous writers within 5 s");
	is(violations, 0, "reader vs continuous writers: invariants held");
	ok(wr[0].count && wr[1].count && wr[2].count, "the writers ran meanwhile (%lu, %lu, %lu)",
	   wr[0].count, wr[1].count, wr[2].count);
}

int main(void)
{
	unsigned long seed;

	setvbuf(stdout, NULL, _IONBF, 0);	/* nothing buffered for fork() to copy */
	set_empty_mask();
	probe_unblockable();
	seed = tap_seed();

	test_basic();
	test_pshared();		/* forks: before any thread */
	test_bh();
	test_irq();
	test_irqsave();
	test_kernel_names();
	test_thread_blocking();
	test_invariants(seed);
	test_writer_not_starved();
	test_reader_not_starved();
	return done_testing();
}
