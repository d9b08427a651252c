// SPDX-License-Identifier: MIT
/*
 * Lock torture: many threads, and then many processes, hammering one lock
 * for a fixed wall-clock budget (not a fixed number of iterations, so that
 * a slow run, under ThreadSanitizer or qemu, does fewer rounds instead of
 * taking longer).
 *
 *  - kipc_spinlock_t with 2, 4 and 8 threads on a 2-core machine (so
 *    oversubscribed): a plain, non-atomic counter and a checksum pair
 *    written inside the critical section; any overlap loses updates or
 *    tears the pair.  Each thread must have got the lock at least once
 *    (starvation sanity; fairness ratios are timing-dependent and are only
 *    printed).
 *  - kipc_rwlock_t with 2, 4 and 8 threads mixing reads and writes: no
 *    reader beside a writer, no two writers, no torn data, no lost write.
 *  - the same two locks initialised with KIPC_PSHARED in shared anonymous
 *    memory and hammered by 4 forked processes.
 *
 * The process tests run first, before this process has made any thread.
 * $KIPC_TEST_SCALE multiplies the time budgets (default 1).
 */
#include <kipc/kipc.h>

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

#define MAX_WORKERS 8
#define CHECK_MAGIC 0x9e3779b97f4a7c15ull

static unsigned int budget_ms = 1000;

static void relax(unsigned int n)
{
	while (n--)
		__asm__ __volatile__("" ::: "memory");
}

/*
 * Everything the workers share, threads or processes alike: it lives in a
 * MAP_SHARED page either way.
 */
struct arena {
	kipc_spinlock_t spin;
	kipc_rwlock_t rw;
	int stop;			/* atomic */

	/* spinlock data, plain: only touched under spin */
	uint64_t counter;
	uint64_t check_a, check_b;	/* check_a = counter * MAGIC, check_b = ~check_a */
	int owner;			/* who is inside, -1 when nobody */

	/* rwlock data */
	uint64_t wcount;		/* plain, written under the write lock */
	uint64_t data_a, data_b;	/* plain, data_a == data_b outside writers */
	int readers_in, writers_in;	/* atomic */

	int violations;			/* atomic */

	struct {
		uint64_t count;		/* spinlock acquisitions, or rwlock reads */
		uint64_t writes;	/* rwlock writes */
	} per[MAX_WORKERS];
};

static struct arena *ar;

static void violation(void)
{
	__atomic_fetch_add(&ar->violations, 1, __ATOMIC_RELAXED);
}

static int stopping(void)
{
	return __atomic_load_n(&ar->stop, __ATOMIC_RELAXED);
}

static void reset_arena(void)
{
	memset(ar, 0, sizeof(*ar));
	kipc_spin_lock_init_flags(&ar->spin, KIPC_PSHARED);
	kipc_rwlock_init_flags(&ar->rw, KIPC_PSHARED);
	ar->owner = -1;
	ar->check_b = ~0ull;	/* ~(0 * MAGIC) */
}

/* One spinlock worker: id, its random state; runs until ar->stop. */
static void spin_worker(int id, unsigned int seed)
{
	uint64_t n = 0;

	while (!stopping()) {
		unsigned long flags = 0;
		int form = (int)(n % 4);

		switch (form) {
		case 0: kipc_spin_lock(&ar->spin); break;
		case 1: kipc_spin_lock_irqsave(&ar->spin, flags); break;
		case 2: kipc_spin_lock_bh(&ar->spin); break;
		default:
			/* trylock a few times, then queue like everyone else */
			for (int i = 0; !kipc_spin_trylock(&ar->spin); i++)
				if (i == 8) {
					kipc_spin_lock(&ar->spin);
					break;
				}
			break;
		}
		if (ar->owner != -1)
			violation();
		ar->owner = id;
		if (ar->check_a != ar->counter * CHECK_MAGIC || ar->check_b != ~ar->check_a)
			violation();
		ar->counter++;
		relax(rand_r(&seed) % 8);
		ar->check_a = ar->counter * CHECK_MAGIC;
		ar->check_b = ~ar->check_a;
		if (ar->owner != id)
			violation();
		ar->owner = -1;
		switch (form) {
		case 1: kipc_spin_unlock_irqrestore(&ar->spin, flags); break;
		case 2: kipc_spin_unlock_bh(&ar->spin); break;
		default: kipc_spin_unlock(&ar->spin); break;
		}
		n++;
		/* Work outside: sometimes none, so the lock is re-taken at once. */
		relax(rand_r(&seed) % 64);
	}
	ar->per[id].count = n;
}

/* One rwlock worker: about one write in four. */
static void rw_worker(int id, unsigned int seed)
{
	uint64_t reads = 0, writes = 0;

	while (!stopping()) {
		unsigned long flags = 0;
		unsigned int r = (unsigned int)rand_r(&seed);

		if (r % 4 == 0) {
			int irq = (r >> 4) & 1;

			if (irq)
				kipc_write_lock_irqsave(&ar->rw, flags);
			else
				kipc_write_lock(&ar->rw);
			if (__atomic_fetch_add(&ar->writers_in, 1, __ATOMIC_ACQ_REL) != 0)
				violation();
			if (__atomic_load_n(&ar->readers_in, __ATOMIC_ACQUIRE) != 0)
				violation();
			if (ar->data_a != ar->data_b)
				violation();
			ar->data_a++;
			relax(r % 16);
			ar->data_b++;
			ar->wcount++;
			__atomic_fetch_sub(&ar->writers_in, 1, __ATOMIC_ACQ_REL);
			if (irq)
				kipc_write_unlock_irqrestore(&ar->rw, flags);
			else
				kipc_write_unlock(&ar->rw);
			writes++;
		} else {
			int irq = (r >> 4) & 1;

			if (irq)
				kipc_read_lock_irqsave(&ar->rw, flags);
			else
				kipc_read_lock(&ar->rw);
			__atomic_fetch_add(&ar->readers_in, 1, __ATOMIC_ACQ_REL);
			if (__atomic_load_n(&ar->writers_in, __ATOMIC_ACQUIRE) != 0)
				violation();
			if (ar->data_a != ar->data_b)
				violation();
			relax(r % 16);
			if (ar->data_a != ar->data_b)
				violation();
			__atomic_fetch_sub(&ar->readers_in, 1, __ATOMIC_ACQ_REL);
			if (irq)
				kipc_read_unlock_irqrestore(&ar->rw, flags);
			else
				kipc_read_unlock(&ar->rw);
			reads++;
		}
		relax(rand_r(&seed) % 64);
	}
	ar->per[id].count = reads;
	ar->per[id].writes = writes;
}

/* ------------------------------------------------------------------------ */
/* Checking the results.                                                    */
/* ------------------------------------------------------------------------ */

static void check_spin(const char *who, int n)
{
	uint64_t sum = 0, lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < n; i++) {
		uint64_t c = ar->per[i].count;

		sum += c;
		lo = c < lo ? c : lo;
		hi = c > hi ? c : hi;
	}
	is(ar->counter, sum, "spinlock, %d %s: counter == sum of acquisitions (%llu), no lost update",
	   n, who, (unsigned long long)sum);
	is(ar->violations, 0, "spinlock, %d %s: nobody else inside, checksum pair intact", n, who);
	ok(lo > 0, "spinlock, %d %s: every one got the lock (fewest %llu, most %llu)",
	   n, who, (unsigned long long)lo, (unsigned long long)hi);
	ok(!kipc_spin_is_locked(&ar->spin), "spinlock, %d %s: free at the end", n, who);
}

static void check_rw(const char *who, int n)
{
	uint64_t writes = 0, lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < n; i++) {
		uint64_t c = ar->per[i].count + ar->per[i].writes;

		writes += ar->per[i].writes;
		lo = c < lo ? c : lo;
		hi = c > hi ? c : hi;
	}
	is(ar->violations, 0, "rwlock, %d %s: no writer beside anyone, no torn data", n, who);
	is(ar->wcount, writes, "rwlock, %d %s: write count == sum of writes (%llu), no lost write",
	   n, who, (unsigned long long)writes);
	ok(ar->data_a == ar->data_b && ar->data_a == writes, "rwlock, %d %s: the data pair is whole", n, who);
	ok(lo > 0, "rwlock, %d %s: every one got the lock (fewest %llu, most %llu)",
	   n, who, (unsigned long long)lo, (unsigned long long)hi);
	ok(kipc_write_trylock(&ar->rw) == 1, "rwlock, %d %s: free at the end", n, who);
	kipc_write_unlock(&ar->rw);
}

/* ------------------------------------------------------------------------ */
/* Processes.                                                               */
/* ------------------------------------------------------------------------ */

#define NPROC 4

/*
 * Run n children for the budget.  Each child also stops by itself after
 * ten budgets (and dies with the parent), so none can outlive the test.
 * Returns the number of children that exited 0.
 */
static int run_processes(int rw, int n, unsigned long seed)
{
	pid_t pids[NPROC];
	int good = 0;
	uint64_t deadline;

	reset_arena();
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			alarm(10 * budget_ms / 1000 + 10);
			if (rw)
				rw_worker(i, (unsigned int)(seed + 101 * (unsigned long)i));
			else
				spin_worker(i, (unsigned int)(seed + 101 * (unsigned long)i));
			_exit(0);
		}
	}
	sleep_ms(budget_ms);
	__atomic_store_n(&ar->stop, 1, __ATOMIC_RELAXED);
	deadline = now_ns() + 30000000000ull;
	for (int i = 0; i < n; i++) {
		int status = 0;
		pid_t r;

		if (pids[i] < 0)
			continue;
		while ((r = waitpid(pids[i], &status, WNOHANG)) == 0 && now_ns() < deadline)
			sleep_ms(5);
		if (r == 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
			diag("child %d did not stop: killed", i);
		} else if (r == pids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			good++;
		} else {
			diag("child %d: status 0x%x", i, status);
		}
	}
	return good;
}

static void test_processes(unsigned long seed)
{
	is(run_processes(0, NPROC, seed), NPROC, "spinlock, %d processes: all exited 0", NPROC);
	check_spin("processes", NPROC);
	is(run_processes(1, NPROC, seed), NPROC, "rwlock, %d processes: all exited 0", NPROC);
	check_rw("processes", NPROC);
}

/* ------------------------------------------------------------------------ */
/* Threads.                                                                 */
/* ------------------------------------------------------------------------ */

struct thread_arg {
	int id, rw;
	unsigned int seed;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	if (a->rw)
		rw_worker(a->id, a->seed);
	else
		spin_worker(a->id, a->seed);
	return NULL;
}

static void run_threads(int rw, int n, unsigned long seed)
{
	pthread_t th[MAX_WORKERS];
	struct thread_arg args[MAX_WORKERS];

	reset_arena();
	for (int i = 0; i < n; i++) {
		args[i].id = i;
		args[i].rw = rw;
		args[i].seed = (unsigned int)(seed + 7919 * (unsigned long)i);
		pthread_create(&th[i], NULL, thread_main, &args[i]);
	}
	sleep_ms(budget_ms);
	__atomic_store_n(&ar->stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

static void test_threads(unsigned long seed)
{
	static const int counts[] = { 2, 4, 8 };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		run_threads(0, counts[i], seed);
		check_spin("threads", counts[i]);
	}
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		run_threads(1, counts[i], seed);
		check_rw("threads", counts[i]);
	}
}

int main(void)
{
	const char *scale = getenv("KIPC_TEST_SCALE");
	unsigned long seed;
	sigset_t none;

	setvbuf(stdout, NULL, _IONBF, 0);	/* nothing buffered for fork() to copy */
	seed = tap_seed();
	if (scale && strtod(scale, NULL) > 0)
		budget_ms = (unsigned int)(1000 * strtod(scale, NULL));
	if (budget_ms < 50)
		budget_ms = 50;
	diag("%u ms per run on %ld CPUs", budget_ms, sysconf(_SC_NPROCESSORS_ONLN));
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);

	ar = mmap(NULL, sizeof(*ar), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ar == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}
	test_processes(seed);	/* forks: before any thread */
	test_threads(seed);
	munmap(ar, sizeof(*ar));
	return done_testing();
}
