// SPDX-License-Identifier: MIT
/*
 * The floor: what a round trip between two processes costs at best, for each
 * way a primitive can wait for the other side.  Every IPC row is read
 * against these: a kipc queue cannot beat "spin", a kernel one cannot beat
 * "futex" (it sleeps the same way), and a well-built kipc primitive should
 * come close to "spin then futex".
 *
 * The parent posts round trip i on ping and waits for it on pong; the child
 * waits on ping and answers on pong.  Each direction is one counter on its
 * own cache line in MAP_SHARED memory, the counter doubling as futex word.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kipc/barrier.h>
#include "arch.h"
#include "bench.h"
#include "futex.h"

#define WARMUP		16	/* untimed round trips: both processes running */
#define SPIN_NS		5000	/* spin then futex: spin this long first */
#define POLLS_PER_CHECK	65536	/* spin polls between two looks at the clock */
#define STALL_NS	(10ull * 1000 * 1000 * 1000)	/* the other side is gone */

/* One direction: seq counts the round trips posted on it. */
struct chan {
	uint32_t seq;
	uint32_t sleeping;	/* spin then futex: the waiter may be in FUTEX_WAIT */
} __attribute__((aligned(64)));

struct shm {
	struct chan ping;	/* parent to child */
	struct chan pong;	/* child to parent */
};

/*
 * wait() returns once c->seq != old.  Only the parent's waits are bounded
 * (they give up, returning false, if the child stops answering): the child
 * needs no bound, since PR_SET_PDEATHSIG kills it with its parent and the
 * parent kills it when it gives up.  So the child's waits never arm a timer,
 * and the parent's arm one per sleep (about 1% of the futex round trip).
 */
struct method {
	bool (*wait)(struct chan *c, uint32_t old, bool bounded);
	void (*post)(struct chan *c, uint32_t seq);
};

/* Bounded futex sleeps time out this often, to look at the clock. */
static const struct timespec tick = { 0, 100 * 1000 * 1000 };

/* SPIN_NS in kipc__cycles() units, measured before the first fork. */
static uint64_t spin_cycles;

/* True once STALL_NS have passed since the first call (*deadline 0). */
static bool stalled(uint64_t *deadline)
{
	uint64_t now = bench_now_ns();

	if (!*deadline)
		*deadline = now + STALL_NS;
	return now > *deadline;
}

/*
 * Every wait loads seq with acquire and every post stores it with release:
 * what the poster wrote before posting (the message, in a real primitive) is
 * visible to the waiter once it sees the new seq.  Free on x86, ldar/stlr on
 * arm64; every real primitive pays it, so the floor does too.
 */
static bool spin_wait(struct chan *c, uint32_t old, bool bounded)
{
	uint64_t deadline = 0;
	unsigned int polls = 0;

	while (kipc_smp_load_acquire(&c->seq) == old) {
		kipc__cpu_relax();
		if (bounded && ++polls % POLLS_PER_CHECK == 0 &&
		    stalled(&deadline))
			return false;
	}
	return true;
}

static void spin_post(struct chan *c, uint32_t seq)
{
	kipc_smp_store_release(&c->seq, seq);
}

/*
 * Sleep at once, every time, until the post.  FUTEX_WAIT compares seq with
 * old under the futex bucket lock, so a post landing between our load and
 * the sleep makes it return at once instead of sleeping through the wake.
 */
static bool sleep_until_post(struct chan *c, uint32_t old, bool bounded)
{
	const struct timespec *ts = bounded ? &tick : NULL;
	uint64_t deadline = 0;

	while (kipc_smp_load_acquire(&c->seq) == old) {
		if (kipc__futex_wait(&c->seq, old, ts, KIPC__FUTEX_SHARED) ==
		    -ETIMEDOUT && stalled(&deadline))
			return false;
	}
	return true;
}

/*
 * Wake unconditionally: the pure sleep/wake round trip.  The kernel orders
 * the seq store before its own look for waiters (futex_wake() has a full
 * barrier), so no barrier is needed here.
 */
static void futex_post(struct chan *c, uint32_t seq)
{
	kipc_smp_store_release(&c->seq, seq);
	kipc__futex_wake(&c->seq, 1, KIPC__FUTEX_SHARED);
}

/* Polls for SPIN_NS; true if the post came meanwhile. */
static bool spin_briefly(struct chan *c, uint32_t old)
{
	uint64_t until = kipc__cycles() + spin_cycles;

	while (kipc_smp_load_acquire(&c->seq) == old) {
		if (kipc__cycles() > until)
			return false;
		kipc__cpu_relax();
	}
	return true;
}

/*
 * Spin briefly, then announce the sleep and sleep.  The announcement is one
 * half of a Dekker pair: we store sleeping then load seq, the poster stores
 * seq then loads sleeping, each with a full barrier in between, so at least
 * one of us sees the other's store: either we see the post and do not sleep,
 * or the poster sees sleeping and wakes us.  Without the barriers x86 lets
 * each load pass the store before it (store buffer) and both could miss.
 */
static bool adaptive_wait(struct chan *c, uint32_t old, bool bounded)
{
	if (spin_briefly(c, old))
		return true;
	/* Relaxed: the barrier right after orders it before the seq load. */
	KIPC_WRITE_ONCE(c->sleeping, 1);
	kipc_smp_mb();
	if (!sleep_until_post(c, old, bounded))
		return false;
	/*
	 * Relaxed: a poster that still reads the old 1 issues one needless
	 * FUTEX_WAKE, nothing worse; the next sleep sets it again before its
	 * barrier.
	 */
	KIPC_WRITE_ONCE(c->sleeping, 0);
	return true;
}

static void adaptive_post(struct chan *c, uint32_t seq)
{
	kipc_smp_store_release(&c->seq, seq);
	/* The poster's half of the Dekker pair in adaptive_wait(). */
	kipc_smp_mb();
	/* Relaxed: the barrier above orders it; it guards no data. */
	if (KIPC_READ_ONCE(c->sleeping))
		kipc__futex_wake(&c->seq, 1, KIPC__FUTEX_SHARED);
}

/* Round trips [from, to); seq wraps harmlessly, only != matters. */
static bool play(const struct method *m, struct shm *s, bool parent,
		 uint64_t from, uint64_t to)
{
	uint64_t i;

	for (i = from; i < to; i++) {
		if (parent) {
			m->post(&s->ping, i + 1);
			if (!m->wait(&s->pong, i, true))
				return false;
		} else {
			/* Unbounded: see struct method. */
			m->wait(&s->ping, i, false);
			m->post(&s->pong, i + 1);
		}
	}
	return true;
}

static struct bench_result floor_run(const struct bench_run *run,
				     const struct method *m)
{
	uint64_t n = run->iters, t0 = 0, t1 = 0;
	pid_t parent = getpid(), pid, w;
	struct shm *s;
	int status;
	bool ok;

	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return bench_failed("mmap");
	pid = fork();
	if (pid < 0) {
		munmap(s, sizeof(*s));
		return bench_failed("fork");
	}
	if (pid == 0) {
		/* Never outlive the parent, even one that died before prctl. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		bench_pin(1);
		_exit(play(m, s, false, 0, WARMUP + n) ? 0 : 1);
	}
	/* Two CPUs: the round trip crosses between them, as IPC does. */
	bench_pin(0);
	ok = play(m, s, true, 0, WARMUP);
	if (ok) {
		t0 = bench_now_ns();
		ok = play(m, s, true, WARMUP, WARMUP + n);
		t1 = bench_now_ns();
	}
	if (!ok)
		kill(pid, SIGKILL);
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	bench_unpin();
	munmap(s, sizeof(*s));
	if (!ok || w != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "kipc-bench: floor: the other process stalled or died\n");
		return bench_ns(-1);
	}
	return bench_ns((double)(t1 - t0) / (double)n);
}

static const struct method spin_method = { spin_wait, spin_post };
static const struct method futex_method = { sleep_until_post, futex_post };
static const struct method adaptive_method = { adaptive_wait, adaptive_post };

struct bench_result bench_floor_spin(const struct bench_run *run)
{
	return floor_run(run, &spin_method);
}

static struct bench_result floor_futex(const struct bench_run *run)
{
	return floor_run(run, &futex_method);
}

/* kipc__cycles() runs at a rate only the clock can tell: measure 1 ms. */
static uint64_t cycles_per(uint64_t ns)
{
	uint64_t t0 = bench_now_ns(), c0 = kipc__cycles(), t, c;

	do {
		t = bench_now_ns();
		c = kipc__cycles();
	} while (t - t0 < 1000 * 1000);
	return (c - c0) * ns / (t - t0);
}

struct bench_result bench_floor_adaptive(const struct bench_run *run)
{
	if (!spin_cycles)
		spin_cycles = cycles_per(SPIN_NS);
	return floor_run(run, &adaptive_method);
}

static const struct bench_row floor_rows[] = {
	{ .group = "floor", .name = "spin ping-pong, 2 processes",
	  .kipc = BENCH_SIDE("shared cache line", bench_floor_spin) },
	{ .group = "floor", .name = "futex ping-pong, 2 processes",
	  .kipc = BENCH_SIDE("FUTEX_WAIT/FUTEX_WAKE", floor_futex) },
	{ .group = "floor", .name = "spin then futex, 2 processes",
	  .kipc = BENCH_SIDE("spin 5 us, then futex", bench_floor_adaptive) },
};
BENCH_TABLE(floor_rows);
