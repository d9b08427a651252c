// SPDX-License-Identifier: MIT
/*
 * kipc/bitops.h: every bit operation on a multi-word bitmap (bits beyond the
 * first word, other words untouched, old values from test_and_*), the
 * non-atomic __ forms, a bit lock shared by threads, concurrent updates of
 * distinct bits of one word, and the find_* searches and for_each_* loops
 * against a naive reference over random bitmaps.
 */
#include <kipc/kipc.h>

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "testutil.h"

#define BPL     ((unsigned long)KIPC_BITS_PER_LONG)
#define NBITS   256
#define NWORDS  KIPC_BITS_TO_LONGS(NBITS)

/* ------------------------------------------------------------------------ */
/* Helpers and the macros.                                                  */
/* ------------------------------------------------------------------------ */

/* Every word but word `skip` equals `val`. */
static bool others_are(const unsigned long *map, unsigned long skip, unsigned long val)
{
	unsigned long i;

	for (i = 0; i < NWORDS; i++)
		if (i != skip && map[i] != val)
			return false;
	return true;
}

static void test_macros(void)
{
	KIPC_DECLARE_BITMAP(small, 1);
	KIPC_DECLARE_BITMAP(exact, 64);
	KIPC_DECLARE_BITMAP(over, 65);
	long nr = 130;

	is(sizeof(small), sizeof(long), "DECLARE_BITMAP(1) is one word");
	is(sizeof(exact), sizeof(long) * (64 / BPL), "DECLARE_BITMAP(64) is 64 bits of words");
	is(sizeof(over), sizeof(long) * (64 / BPL + 1), "DECLARE_BITMAP(65) rounds up");
	is(KIPC_BITS_TO_LONGS(nr - 130), 0, "BITS_TO_LONGS(0)");
	is(KIPC_BITS_TO_LONGS(nr), (130 + BPL - 1) / BPL, "BITS_TO_LONGS(130)");
	is(KIPC_BIT_WORD(nr), 130 / BPL, "BIT_WORD(130)");
	ok(KIPC_BIT_MASK(nr) == 1UL << (130 % BPL), "BIT_MASK(130)");
	ok(KIPC_BIT(nr % 64) == 1UL << 2 && KIPC_BIT(nr - 67) == 1UL << 63, "BIT(2), BIT(63)");
	is(KIPC_BITS_PER_LONG, sizeof(long) * 8, "BITS_PER_LONG");
}

/* ------------------------------------------------------------------------ */
/* Single-threaded semantics of each operation at several bit numbers.     */
/* ------------------------------------------------------------------------ */

static const long nrs[] = { 0, 1, 63, 64, 65, 127, 128, 200, 255 };

static void test_ops_at(long nr)
{
	unsigned long map[NWORDS];
	unsigned long w = KIPC_BIT_WORD(nr), m = KIPC_BIT_MASK(nr);
	long other = nr ^ 1;  /* a neighbour in the same word */

	/* atomic set/clear/change, from all-zero and from all-one */
	memset(map, 0, sizeof(map));
	kipc_set_bit(nr, map);
	ok(map[w] == m && others_are(map, w, 0), "set_bit(%ld) sets that bit only", nr);
	ok(kipc_test_bit(nr, map) && !kipc_test_bit(other, map), "test_bit(%ld) after set_bit", nr);
	ok(kipc_test_bit_acquire(nr, map), "test_bit_acquire(%ld) after set_bit", nr);
	kipc_set_bit(nr, map);
	ok(map[w] == m, "set_bit(%ld) twice keeps it set", nr);
	kipc_clear_bit(nr, map);
	ok(map[w] == 0 && others_are(map, w, 0), "clear_bit(%ld)", nr);
	ok(!kipc_test_bit(nr, map) && !kipc_test_bit_acquire(nr, map),
	   "test_bit(%ld) after clear_bit", nr);
	kipc_change_bit(nr, map);
	ok(map[w] == m && others_are(map, w, 0), "change_bit(%ld) sets a clear bit", nr);
	kipc_change_bit(nr, map);
	ok(map[w] == 0, "change_bit(%ld) clears a set bit", nr);

	memset(map, 0xff, sizeof(map));
	kipc_clear_bit(nr, map);
	ok(map[w] == ~m && others_are(map, w, ~0UL), "clear_bit(%ld) in a full map clears only it", nr);
	kipc_change_bit(nr, map);
	ok(map[w] == ~0UL, "change_bit(%ld) in a full map", nr);
	kipc_set_bit(other, map);
	ok(map[w] == ~0UL && others_are(map, w, ~0UL), "set_bit of a set bit changes nothing");

	/* test_and_*: the old value */
	memset(map, 0, sizeof(map));
	is(kipc_test_and_set_bit(nr, map), 0, "test_and_set_bit(%ld) on clear returns 0", nr);
	ok(map[w] == m && others_are(map, w, 0), "test_and_set_bit(%ld) set it", nr);
	is(kipc_test_and_set_bit(nr, map), 1, "test_and_set_bit(%ld) on set returns 1", nr);
	ok(map[w] == m, "test_and_set_bit(%ld) keeps it set", nr);
	is(kipc_test_and_clear_bit(nr, map), 1, "test_and_clear_bit(%ld) on set returns 1", nr);
	ok(map[w] == 0, "test_and_clear_bit(%ld) cleared it", nr);
	is(kipc_test_and_clear_bit(nr, map), 0, "test_and_clear_bit(%ld) on clear returns 0", nr);
	is(kipc_test_and_change_bit(nr, map), 0, "test_and_change_bit(%ld) on clear returns 0", nr);
	ok(map[w] == m && others_are(map, w, 0), "test_and_change_bit(%ld) set it", nr);
	is(kipc_test_and_change_bit(nr, map), 1, "test_and_change_bit(%ld) on set returns 1", nr);
	ok(map[w] == 0, "test_and_change_bit(%ld) cleared it", nr);

	/* the bit lock */
	memset(map, 0xa5, sizeof(map));
	kipc___clear_bit(nr, map);
	is(kipc_test_and_set_bit_lock(nr, map), 0, "test_and_set_bit_lock(%ld) takes a free lock", nr);
	is(kipc_test_and_set_bit_lock(nr, map), 1, "test_and_set_bit_lock(%ld) on a held lock", nr);
	kipc_clear_bit_unlock(nr, map);
	ok(!kipc_test_bit(nr, map), "clear_bit_unlock(%ld) releases", nr);
	is(kipc_test_and_set_bit_lock(nr, map), 0, "the lock (%ld) can be taken again", nr);
	kipc___clear_bit_unlock(nr, map);
	ok(!kipc_test_bit(nr, map), "__clear_bit_unlock(%ld) releases", nr);
	kipc___set_bit(nr, map);
	kipc___change_bit(nr, map);
	ok((map[w] | m) == (0xa5a5a5a5a5a5a5a5UL | m) && (map[w] & m) == 0 &&
	   others_are(map, w, 0xa5a5a5a5a5a5a5a5UL),
	   "the lock bits left the rest of the pattern alone (%ld)", nr);

	/* the non-atomic forms */
	memset(map, 0, sizeof(map));
	kipc___set_bit(nr, map);
	ok(map[w] == m && others_are(map, w, 0), "__set_bit(%ld)", nr);
	kipc___change_bit(other, map);
	ok(map[w] == (m | KIPC_BIT_MASK(other)), "__change_bit(%ld) sets", other);
	kipc___change_bit(other, map);
	ok(map[w] == m, "__change_bit(%ld) clears", other);
	kipc___clear_bit(nr, map);
	ok(map[w] == 0 && others_are(map, w, 0), "__clear_bit(%ld)", nr);
	is(kipc___test_and_set_bit(nr, map), 0, "__test_and_set_bit(%ld) on clear", nr);
	is(kipc___test_and_set_bit(nr, map), 1, "__test_and_set_bit(%ld) on set", nr);
	ok(map[w] == m, "__test_and_set_bit(%ld) set it", nr);
	is(kipc___test_and_clear_bit(nr, map), 1, "__test_and_clear_bit(%ld) on set", nr);
	is(kipc___test_and_clear_bit(nr, map), 0, "__test_and_clear_bit(%ld) on clear", nr);
	ok(map[w] == 0, "__test_and_clear_bit(%ld) cleared it", nr);
	is(kipc___test_and_change_bit(nr, map), 0, "__test_and_change_bit(%ld) on clear", nr);
	ok(map[w] == m, "__test_and_change_bit(%ld) set it", nr);
	is(kipc___test_and_change_bit(nr, map), 1, "__test_and_change_bit(%ld) on set", nr);
	ok(map[w] == 0 && others_are(map, w, 0), "__test_and_change_bit(%ld) cleared it", nr);
	memset(map, 0xff, sizeof(map));
	kipc___clear_bit(nr, map);
	ok(map[w] == ~m && others_are(map, w, ~0UL), "__clear_bit(%ld) in a full map", nr);
}

static void test_ops(void)
{
	unsigned long map[NWORDS];
	unsigned int i;
	long nr;

	for (i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		test_ops_at(nrs[i]);

	/* every bit of the map, one after the other */
	memset(map, 0, sizeof(map));
	for (nr = 0; nr < NBITS; nr += 3)
		kipc_set_bit(nr, map);
	for (nr = 0; nr < NBITS; nr++)
		if (kipc_test_bit(nr, map) != (nr % 3 == 0))
			break;
	is(nr, NBITS, "set_bit of every third bit, test_bit of all");
	for (nr = 0; nr < NBITS; nr++)
		kipc_change_bit(nr, map);
	for (nr = 0; nr < NBITS; nr++)
		if (kipc_test_and_clear_bit(nr, map) != (nr % 3 != 0))
			break;
	is(nr, NBITS, "change_bit of all inverts, test_and_clear_bit of all");
	ok(others_are(map, NWORDS, 0), "and the map is empty");
}

/* ------------------------------------------------------------------------ */
/* Threads.                                                                 */
/* ------------------------------------------------------------------------ */

#define NTHREADS   4
#define MT_ITERS   100000L
#define MT_SECONDS 1.0

struct worker {
	pthread_t tid;
	int id;
	long done;
	long errors;
};

static int start_gate;
static double mt_deadline;

static bool keep_going(const struct worker *w)
{
	if (w->done >= MT_ITERS)
		return false;
	if ((w->done & 255) == 0 && now() > mt_deadline)
		return false;
	return true;
}

static void wait_gate(void)
{
	unsigned int spins = 0;

	while (!kipc_smp_load_acquire(&start_gate))
		spin_yield(&spins);
}

static long run_workers(void *(*fn)(void *), long *errors)
{
	struct worker ws[NTHREADS];
	long total = 0;
	int i;

	*errors = 0;
	KIPC_WRITE_ONCE(start_gate, 0);
	mt_deadline = now() + MT_SECONDS;
	for (i = 0; i < NTHREADS; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].id = i;
		if (pthread_create(&ws[i].tid, NULL, fn, &ws[i])) {
			diag("pthread_create failed");
			exit(1);
		}
	}
	kipc_smp_store_release(&start_gate, 1);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(ws[i].tid, NULL);
		total += ws[i].done;
		*errors += ws[i].errors;
	}
	return total;
}

/*
 * A bit lock (bit 5 of word 1) guarding a plain counter.  The other bits of
 * that word are flipped atomically by the holders meanwhile, so the lock
 * operations must also leave their neighbours alone.
 */
#define LOCK_BIT (KIPC_BITS_PER_LONG + 5)

static unsigned long lock_map[2];
static long locked_counter;

static void *lock_worker(void *arg)
{
	struct worker *w = arg;
	long mine = KIPC_BITS_PER_LONG + 8 + w->id;
	unsigned int spins = 0;

	wait_gate();
	for (; keep_going(w); w->done++) {
		while (kipc_test_and_set_bit_lock(LOCK_BIT, lock_map))
			spin_yield(&spins);
		locked_counter++;
		kipc_set_bit(mine, lock_map);
		kipc_clear_bit_unlock(LOCK_BIT, lock_map);
		if (!kipc_test_bit(mine, lock_map))
			w->errors++;
		kipc_clear_bit(mine, lock_map);
	}
	return NULL;
}

static void test_bit_lock(void)
{
	long total, errors;

	memset(lock_map, 0, sizeof(lock_map));
	locked_counter = 0;
	total = run_workers(lock_worker, &errors);
	is(locked_counter, total, "test_and_set_bit_lock/clear_bit_unlock exclude %d threads "
	   "(%ld critical sections)", NTHREADS, total);
	is(errors, 0, "the lock operations never cleared a neighbouring bit");
	ok(lock_map[0] == 0 && lock_map[1] == 0, "the lock word ends empty");
}

/*
 * Thread t owns bits t, t + NTHREADS, t + 2 * NTHREADS, ... of word 0 and
 * the same bits of word 1; every thread updates its bits concurrently and
 * checks that nobody else's update lost or resurrected one of them.
 */
static unsigned long shared_map[2];

static bool mine_are(const struct worker *w, long base, bool set)
{
	long nr;

	for (nr = w->id; nr < KIPC_BITS_PER_LONG; nr += NTHREADS)
		if (kipc_test_bit(base + nr, shared_map) != set)
			return false;
	return true;
}

static void *bits_worker(void *arg)
{
	struct worker *w = arg;
	long nr, b1 = KIPC_BITS_PER_LONG;
	bool bad;

	wait_gate();
	for (; keep_going(w); w->done++) {
		for (nr = w->id; nr < KIPC_BITS_PER_LONG; nr += NTHREADS)
			kipc_set_bit(nr, shared_map);
		if (!mine_are(w, 0, true))
			w->errors++;
		for (nr = w->id; nr < KIPC_BITS_PER_LONG; nr += NTHREADS)
			kipc_change_bit(nr, shared_map);
		if (!mine_are(w, 0, false))
			w->errors++;
		bad = false;
		for (nr = w->id; nr < KIPC_BITS_PER_LONG; nr += NTHREADS)
			bad |= kipc_test_and_set_bit(b1 + nr, shared_map);
		for (nr = w->id; nr < KIPC_BITS_PER_LONG; nr += NTHREADS)
			bad |= !kipc_test_and_change_bit(b1 + nr, shared_map);
		for (nr = w->id; nr < KIPC_BITS_PER_LONG; nr += NTHREADS)
			bad |= kipc_test_and_clear_bit(b1 + nr, shared_map);
		for (nr = w->id; nr < KIPC_BITS_PER_LONG; nr += NTHREADS)
			kipc_change_bit(b1 + nr, shared_map);
		for (nr = w->id; nr < KIPC_BITS_PER_LONG; nr += NTHREADS)
			kipc_clear_bit(b1 + nr, shared_map);
		if (bad || !mine_are(w, b1, false))
			w->errors++;
	}
	/* leave our bits of word 0 set for the final check */
	for (nr = w->id; nr < KIPC_BITS_PER_LONG; nr += NTHREADS)
		kipc_set_bit(nr, shared_map);
	return NULL;
}

static void test_concurrent_bits(void)
{
	long total, errors;

	memset(shared_map, 0, sizeof(shared_map));
	total = run_workers(bits_worker, &errors);
	is(errors, 0, "%d threads updating distinct bits of one word lose none "
	   "(%ld rounds)", NTHREADS, total);
	ok(shared_map[0] == ~0UL, "all bits set by the threads are there");
	ok(shared_map[1] == 0, "all bits cleared by the threads are clear");
}

/* ------------------------------------------------------------------------ */
/* find_* and for_each_* against a naive reference.                          */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static bool ref_bit(const unsigned long *map, unsigned long nr)
{
	return (map[nr / BPL] >> (nr % BPL)) & 1;
}

static unsigned long ref_last(const unsigned long *map, unsigned long size)
{
	unsigned long i;

	for (i = size; i-- > 0;)
		if (ref_bit(map, i))
			return i;
	return size;
}

struct find_stats {
	long maps;
	long first, next, first_zero, next_zero, last, each_set, each_clear;
};

#define MISMATCH(field, what, got, want) do {                                 \
	if (st->field++ == 0)                                                  \
		diag("first mismatch: %s size %lu: got %lu want %lu", what,    \
		     size, (unsigned long)(got), (unsigned long)(want));       \
} while (0)

/*
 * Checks every search on map[0..size) (the map has exactly the words
 * needed).  The reference: nset[off] / nclr[off] is the first set / clear
 * bit at or after off, computed naively from the end.
 */
static void check_map(const unsigned long *map, unsigned long size, struct find_stats *st)
{
	unsigned long *nset = malloc((size + 3) * sizeof(long));
	unsigned long *nclr = malloc((size + 3) * sizeof(long));
	unsigned long off, bit, got, n;

	if (!nset || !nclr) {
		diag("out of memory");
		exit(1);
	}
	for (off = size; off < size + 3; off++)
		nset[off] = nclr[off] = size;
	for (off = size; off-- > 0;) {
		nset[off] = ref_bit(map, off) ? off : nset[off + 1];
		nclr[off] = ref_bit(map, off) ? nclr[off + 1] : off;
	}

	st->maps++;
	got = kipc_find_first_bit(map, size);
	if (got != nset[0])
		MISMATCH(first, "find_first_bit", got, nset[0]);
	got = kipc_find_first_zero_bit(map, size);
	if (got != nclr[0])
		MISMATCH(first_zero, "find_first_zero_bit", got, nclr[0]);
	got = kipc_find_last_bit(map, size);
	if (got != ref_last(map, size))
		MISMATCH(last, "find_last_bit", got, ref_last(map, size));
	for (off = 0; off < size + 3; off++) {
		got = kipc_find_next_bit(map, size, off);
		if (got != nset[off])
			MISMATCH(next, "find_next_bit", got, nset[off]);
		got = kipc_find_next_zero_bit(map, size, off);
		if (got != nclr[off])
			MISMATCH(next_zero, "find_next_zero_bit", got, nclr[off]);
	}
	/* the loops visit exactly the right bits, in order, then stop at size */
	off = nset[0];
	n = 0;
	kipc_for_each_set_bit(bit, map, size) {
		if (bit != off || ++n > size)
			break;
		off = nset[bit + 1];
	}
	if (bit != size || off != size)
		MISMATCH(each_set, "for_each_set_bit", bit, off);
	off = nclr[0];
	n = 0;
	kipc_for_each_clear_bit(bit, map, size) {
		if (bit != off || ++n > size)
			break;
		off = nclr[bit + 1];
	}
	if (bit != size || off != size)
		MISMATCH(each_clear, "for_each_clear_bit", bit, off);
	free(nset);
	free(nclr);
}

/* Fills size bits with the given density (in 1/16) and junk beyond size. */
static unsigned long *random_map(unsigned long size, int density)
{
	unsigned long words = KIPC_BITS_TO_LONGS(size), i;
	unsigned long *map = malloc(words ? words * sizeof(long) : 1);

	if (!map) {
		diag("out of memory");
		exit(1);
	}
	for (i = 0; i < words; i++)
		map[i] = (unsigned long)rnd();
	for (i = 0; i < size; i++) {
		if ((int)(rnd() % 16) < density)
			map[i / BPL] |= KIPC_BIT_MASK(i);
		else
			map[i / BPL] &= ~KIPC_BIT_MASK(i);
	}
	return map;
}

static void test_find(void)
{
	static const unsigned long fixed[] = { 0, 1, 2, 63, 64, 65, 127, 128, 129, 191, 256, 300 };
	static const int densities[] = { 0, 16, 1, 8, 15 };
	struct find_stats st;
	unsigned long size, *map;
	unsigned int i, d;
	int round;

	memset(&st, 0, sizeof(st));
	rng_state = tap_seed() * 2 + 1;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		for (d = 0; d < sizeof(densities) / sizeof(densities[0]); d++) {
			map = random_map(fixed[i], densities[d]);
			check_map(map, fixed[i], &st);
			free(map);
		}
	}
	for (round = 0; round < 300; round++) {
		size = rnd() % 400;
		map = random_map(size, (int)(rnd() % 17));
		check_map(map, size, &st);
		/* a single set bit at a random place, and a single clear one */
		if (size) {
			unsigned long one = rnd() % size, k;

			for (k = 0; k < size; k++)
				kipc___clear_bit((long)k, map);
			kipc___set_bit((long)one, map);
			check_map(map, size, &st);
			for (k = 0; k < size; k++)
				kipc___set_bit((long)k, map);
			kipc___clear_bit((long)one, map);
			check_map(map, size, &st);
		}
		free(map);
	}
	is(st.first, 0, "find_first_bit matches the reference on %ld bitmaps", st.maps);
	is(st.next, 0, "find_next_bit matches the reference at every offset");
	is(st.first_zero, 0, "find_first_zero_bit matches the reference");
	is(st.next_zero, 0, "find_next_zero_bit matches the reference at every offset");
	is(st.last, 0, "find_last_bit matches the reference");
	is(st.each_set, 0, "for_each_set_bit visits exactly the set bits, in order");
	is(st.each_clear, 0, "for_each_clear_bit visits exactly the clear bits, in order");
}

/* A few fixed cases, so a failure is easy to read. */
static void test_find_fixed(void)
{
	unsigned long map[NWORDS], bit, seen[8];
	int n;

	memset(map, 0, sizeof(map));
	is(kipc_find_first_bit(map, NBITS), NBITS, "find_first_bit in an empty map returns size");
	is(kipc_find_last_bit(map, NBITS), NBITS, "find_last_bit in an empty map returns size");
	is(kipc_find_first_bit(map, 0), 0, "find_first_bit with size 0 returns 0");
	kipc_set_bit(200, map);
	kipc_set_bit(64, map);
	kipc_set_bit(127, map);
	is(kipc_find_first_bit(map, NBITS), 64, "find_first_bit finds bit 64");
	is(kipc_find_next_bit(map, NBITS, 65), 127, "find_next_bit from 65 finds 127");
	is(kipc_find_next_bit(map, NBITS, 128), 200, "find_next_bit from 128 finds 200");
	is(kipc_find_next_bit(map, NBITS, 201), NBITS, "find_next_bit past the last returns size");
	is(kipc_find_next_bit(map, 200, 128), 200, "a bit at size is not found");
	is(kipc_find_last_bit(map, NBITS), 200, "find_last_bit finds 200");
	is(kipc_find_last_bit(map, 200), 127, "find_last_bit ignores bits >= size");
	is(kipc_find_first_bit(map, 64), 64, "find_first_bit ignores bits >= size (64)");
	is(kipc_find_first_zero_bit(map, NBITS), 0, "find_first_zero_bit finds 0");
	n = 0;
	kipc_for_each_set_bit(bit, map, NBITS)
		if (n < 8)
			seen[n++] = bit;
	ok(n == 3 && seen[0] == 64 && seen[1] == 127 && seen[2] == 200,
	   "for_each_set_bit visits 64, 127, 200");
	memset(map, 0xff, sizeof(map));
	kipc_clear_bit(129, map);
	kipc_clear_bit(255, map);
	is(kipc_find_first_zero_bit(map, NBITS), 129, "find_first_zero_bit finds 129");
	is(kipc_find_next_zero_bit(map, NBITS, 130), 255, "find_next_zero_bit finds 255");
	is(kipc_find_next_zero_bit(map, 255, 130), 255, "find_next_zero_bit ignores bits >= size");
	n = 0;
	kipc_for_each_clear_bit(bit, map, NBITS)
		if (n < 8)
			seen[n++] = bit;
	ok(n == 2 && seen[0] == 129 && seen[1] == 255, "for_each_clear_bit visits 129, 255");
}

int main(void)
{
	test_macros();
	test_ops();
	test_find_fixed();
	test_find();
	test_bit_lock();
	test_concurrent_bits();
	return done_testing();
}
