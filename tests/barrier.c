// SPDX-License-Identifier: MIT
/*
 * kipc/barrier.h: every barrier macro compiles and runs, READ_ONCE /
 * WRITE_ONCE / smp_load_acquire / smp_store_release / smp_store_mb on int,
 * long, pointers and uint8_t, the store-buffering (Dekker) litmus test with a
 * full barrier between each thread's store and load (both loads seeing 0 is
 * forbidden), and message passing with smp_wmb / smp_rmb.
 */
#include <kipc/kipc.h>

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "tap.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void relax(unsigned int *spins)
{
	if (++*spins % 128 == 0)
		sched_yield();
}

/* ------------------------------------------------------------------------ */
/* Every macro, single-threaded.                                            */
/* ------------------------------------------------------------------------ */

/* READ_ONCE has the type of its operand (not a promoted one). */
#define SAME_TYPE(a, b) __builtin_types_compatible_p(__typeof__(a), __typeof__(b))

/*
 * Each accessor on one field of a struct with guard fields on both sides: the
 * access must have the field's exact width.
 */
#define ONCE_CHECK(T, name, A, B) do {                                         \
	struct { T lo; T x; T hi; } s;                                         \
	T g;                                                                   \
									       \
	memset(&s, 0x5a, sizeof(s));                                           \
	memset(&g, 0x5a, sizeof(g));                                           \
	KIPC_WRITE_ONCE(s.x, (A));                                             \
	ok(s.x == (A), "WRITE_ONCE(%s) stores", name);                         \
	ok(KIPC_READ_ONCE(s.x) == (A), "READ_ONCE(%s) loads", name);           \
	_Static_assert(SAME_TYPE(KIPC_READ_ONCE(s.x), T), "READ_ONCE type");   \
	kipc_smp_store_release(&s.x, (B));                                     \
	ok(kipc_smp_load_acquire(&s.x) == (B),                                 \
	   "smp_store_release then smp_load_acquire (%s)", name);              \
	_Static_assert(SAME_TYPE(kipc_smp_load_acquire(&s.x), T), "acquire type"); \
	kipc_smp_store_mb(s.x, (A));                                           \
	ok(KIPC_READ_ONCE(s.x) == (A), "smp_store_mb(%s) stores", name);       \
	ok(!memcmp(&s.lo, &g, sizeof(g)) && !memcmp(&s.hi, &g, sizeof(g)),    \
	   "the %s accesses left the neighbours alone", name);                 \
} while (0)

static int some_int;

static void test_once(void)
{
	ONCE_CHECK(int, "int", INT_MIN, 12345);
	ONCE_CHECK(long, "long", LONG_MAX, -2L);
	ONCE_CHECK(uint8_t, "uint8_t", 0xff, 0x01);
	ONCE_CHECK(int *, "pointer", &some_int, (int *)NULL);
	ONCE_CHECK(unsigned long, "unsigned long", ~0UL, 1UL << 63);
	ONCE_CHECK(uint16_t, "uint16_t", 0xbeef, 0x0001);
}

/*
 * The barriers themselves have no value to check: run each between
 * accesses whose result is checked, so that a macro that does not compile,
 * or that clobbers something, shows up.
 */
static void test_barriers_run(void)
{
	static long v[12];
	long sum = 0;
	int i;

	KIPC_WRITE_ONCE(v[0], 1);
	kipc_barrier();
	KIPC_WRITE_ONCE(v[1], KIPC_READ_ONCE(v[0]) + 1);
	kipc_mb();
	KIPC_WRITE_ONCE(v[2], KIPC_READ_ONCE(v[1]) + 1);
	kipc_rmb();
	KIPC_WRITE_ONCE(v[3], KIPC_READ_ONCE(v[2]) + 1);
	kipc_wmb();
	KIPC_WRITE_ONCE(v[4], KIPC_READ_ONCE(v[3]) + 1);
	kipc_smp_mb();
	KIPC_WRITE_ONCE(v[5], KIPC_READ_ONCE(v[4]) + 1);
	kipc_smp_rmb();
	KIPC_WRITE_ONCE(v[6], KIPC_READ_ONCE(v[5]) + 1);
	kipc_smp_wmb();
	KIPC_WRITE_ONCE(v[7], KIPC_READ_ONCE(v[6]) + 1);
	kipc_smp_mb__before_atomic();
	kipc_set_bit(3, (unsigned long *)&v[8]);
	kipc_smp_mb__after_atomic();
	KIPC_WRITE_ONCE(v[9], KIPC_READ_ONCE(v[7]) + 1);
	kipc_smp_store_mb(v[10], KIPC_READ_ONCE(v[9]) + 1);
	kipc_smp_store_release(&v[11], kipc_smp_load_acquire(&v[10]) + 1);
	for (i = 0; i < 12; i++)
		sum += v[i];
	is(sum, 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 8 + 9 + 10 + 11, "program order holds across "
	   "barrier, mb, rmb, wmb, smp_mb, smp_rmb, smp_wmb, smp_mb__before/after_atomic, "
	   "smp_store_mb");
	is(v[8], 8, "smp_mb__before_atomic(); set_bit(); smp_mb__after_atomic()");

}

/* ------------------------------------------------------------------------ */
/* Two threads in lock-step rounds.                                         */
/* ------------------------------------------------------------------------ */

#define SB_ROUNDS  20000
#define SB_SECONDS 2.0

/* A sense-reversing spinning barrier for two threads. */
static int bar_count, bar_sense;

static void spin_barrier(int *local_sense)
{
	unsigned int spins = 0;

	*local_sense = !*local_sense;
	if (__atomic_add_fetch(&bar_count, 1, __ATOMIC_ACQ_REL) == 2) {
		__atomic_store_n(&bar_count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&bar_sense, *local_sense, __ATOMIC_RELEASE);
	} else {
		while (__atomic_load_n(&bar_sense, __ATOMIC_ACQUIRE) != *local_sense)
			relax(&spins);
	}
}

/*
 * Store buffering: x = 1; FENCE; r0 = y  ||  y = 1; FENCE; r1 = x.
 * With a full barrier as FENCE, r0 == r1 == 0 is forbidden.  The barrier
 * takes several forms, one per round, all of which must be full:
 * smp_mb, mb, smp_store_mb, and an atomic between smp_mb__before_atomic /
 * smp_mb__after_atomic.
 */
enum { SB_SMP_MB, SB_MB, SB_STORE_MB, SB_ATOMIC, SB_VARIANTS, SB_NONE = SB_VARIANTS };

static int sb_x, sb_y, sb_r[2], sb_stop;
static kipc_atomic_t sb_dummy;
static int sb_mode_fixed = -1;   /* -1: rotate the full-barrier variants */
static long sb_rounds, sb_forbidden[SB_VARIANTS + 1];
static double sb_end;
static long sb_max_rounds;

static void sb_side(int me, int mode)
{
	int *mine = me ? &sb_y : &sb_x, *theirs = me ? &sb_x : &sb_y;

	switch (mode) {
	case SB_SMP_MB:
		KIPC_WRITE_ONCE(*mine, 1);
		kipc_smp_mb();
		break;
	case SB_MB:
		KIPC_WRITE_ONCE(*mine, 1);
		kipc_mb();
		break;
	case SB_STORE_MB:
		kipc_smp_store_mb(*mine, 1);
		break;
	case SB_ATOMIC:
		KIPC_WRITE_ONCE(*mine, 1);
		kipc_smp_mb__before_atomic();
		kipc_atomic_inc(&sb_dummy);
		kipc_smp_mb__after_atomic();
		break;
	default:
		KIPC_WRITE_ONCE(*mine, 1);
		kipc_barrier();
		break;
	}
	KIPC_WRITE_ONCE(sb_r[me], KIPC_READ_ONCE(*theirs));
}

static void sb_loop(int me)
{
	int sense = 0, mode, k;
	long r;

	for (r = 0;; r++) {
		mode = sb_mode_fixed >= 0 ? sb_mode_fixed : (int)(r % SB_VARIANTS);
		spin_barrier(&sense);          /* go */
		/* skew the two sides by a varying amount so that they overlap */
		for (k = (int)((r * (me ? 7 : 13)) % 1021); k > 0; k--)
			kipc_barrier();
		sb_side(me, mode);
		spin_barrier(&sense);          /* both done */
		if (me == 0) {
			if (!KIPC_READ_ONCE(sb_r[0]) && !KIPC_READ_ONCE(sb_r[1]))
				sb_forbidden[mode]++;
			KIPC_WRITE_ONCE(sb_x, 0);
			KIPC_WRITE_ONCE(sb_y, 0);
			sb_rounds = r + 1;
			if (r + 1 >= sb_max_rounds || ((r & 255) == 255 && now() > sb_end))
				KIPC_WRITE_ONCE(sb_stop, 1);
		}
		spin_barrier(&sense);          /* reset done */
		if (KIPC_READ_ONCE(sb_stop))
			break;
	}
}

static void *sb_thread(void *arg)
{
	(void)arg;
	sb_loop(1);
	return NULL;
}

static void run_sb(int mode, long rounds, double seconds)
{
	pthread_t t;

	sb_x = sb_y = sb_stop = bar_count = bar_sense = 0;
	sb_rounds = 0;
	memset(sb_forbidden, 0, sizeof(sb_forbidden));
	sb_mode_fixed = mode;
	sb_max_rounds = rounds;
	sb_end = now() + seconds;
	pthread_create(&t, NULL, sb_thread, NULL);
	sb_loop(0);
	pthread_join(t, NULL);
}

static void test_store_buffering(void)
{
	static const char *const names[] = {
		"kipc_smp_mb", "kipc_mb", "kipc_smp_store_mb",
		"smp_mb__before_atomic + atomic_inc + smp_mb__after_atomic",
	};
	long none;
	int m;

	/* No fence: how often the hardware shows the reordering (not a test). */
	run_sb(SB_NONE, SB_ROUNDS / 4, SB_SECONDS / 4);
	none = sb_forbidden[SB_NONE];
	diag("without a barrier, r0 == r1 == 0 in %ld of %ld rounds", none, sb_rounds);

	run_sb(-1, SB_ROUNDS, SB_SECONDS);
	for (m = 0; m < SB_VARIANTS; m++)
		is(sb_forbidden[m], 0, "store buffering with %s: r0 == r1 == 0 never seen "
		   "(%ld rounds)", names[m], sb_rounds / SB_VARIANTS);
	ok(sb_rounds >= 100, "the litmus test ran (%ld rounds)", sb_rounds);
}

/*
 * Message passing: data = n; smp_wmb(); flag = n  ||  f = flag; smp_rmb();
 * d = data.  Values only grow, so the reader must always see d >= f.
 */
#define MP_WORDS   4
#define MP_FRESH   100000   /* stop after the reader saw this many new flags */
#define MP_SECONDS 1.0

static int mp_data[MP_WORDS], mp_flag, mp_ready, mp_stop_req, mp_done;

static void *mp_writer(void *arg)
{
	int *last = arg, i, j;
	unsigned int spins = 0;

	while (!KIPC_READ_ONCE(mp_ready))
		relax(&spins);
	for (i = 1; i < INT_MAX / 2 && !KIPC_READ_ONCE(mp_stop_req); i++) {
		for (j = 0; j < MP_WORDS; j++)
			KIPC_WRITE_ONCE(mp_data[j], i);
		kipc_smp_wmb();
		KIPC_WRITE_ONCE(mp_flag, i);
	}
	*last = i - 1;
	kipc_smp_wmb();
	KIPC_WRITE_ONCE(mp_done, 1);
	return NULL;
}

static void test_message_passing(void)
{
	pthread_t t;
	long bad = 0, reads = 0, fresh = 0;
	int last = -1, f, j, prev = 0, done;
	double end = now() + MP_SECONDS;

	pthread_create(&t, NULL, mp_writer, &last);
	KIPC_WRITE_ONCE(mp_ready, 1);
	for (;;) {
		done = KIPC_READ_ONCE(mp_done);
		kipc_smp_rmb();
		f = KIPC_READ_ONCE(mp_flag);
		kipc_smp_rmb();
		for (j = 0; j < MP_WORDS; j++)
			if (KIPC_READ_ONCE(mp_data[j]) < f)
				bad++;
		if (f > prev)
			fresh++;
		prev = f;
		reads++;
		if (done)
			break;
		if (fresh >= MP_FRESH || ((reads & 1023) == 0 && now() > end))
			KIPC_WRITE_ONCE(mp_stop_req, 1);
	}
	pthread_join(t, NULL);
	is(bad, 0, "message passing with smp_wmb/smp_rmb: data is never older than the "
	   "flag (%ld reads, %ld saw a new flag)", reads, fresh);
	is(prev, last, "after the writer's done flag, the reader sees its last flag");
}

int main(void)
{
	test_once();
	test_barriers_run();
	test_store_buffering();
	test_message_passing();
	return done_testing();
}
