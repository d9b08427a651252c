// SPDX-License-Identifier: MIT
/*
 * <kipc/linux.h>: kernel-style code that uses the kernel's own names for
 * atomics, bit operations and barriers (atomic_t, atomic_dec_and_test,
 * set_bit, for_each_set_bit, smp_load_acquire, container_of, cmpxchg, ...)
 * compiles unchanged against kipc and behaves as in the kernel.
 */
#include <kipc/linux.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "tap.h"

/* ---- a refcounted object, as kernel code writes it ---- */

struct kref_like {
	atomic_t refcount;
};

struct widget {
	int id;
	struct kref_like ref;
	DECLARE_BITMAP(flags, 128);
	atomic64_t bytes;
	atomic_long_t users;
};

#define WIDGET_DEAD 0
#define WIDGET_BUSY 70   /* in the second word on 64-bit */

static int widgets_released;

static void widget_release(struct kref_like *ref)
{
	struct widget *w = container_of(ref, struct widget, ref);

	widgets_released += w->id;
}

static void widget_get(struct widget *w)
{
	atomic_inc(&w->ref.refcount);
}

static int widget_put(struct widget *w)
{
	if (atomic_dec_and_test(&w->ref.refcount)) {
		widget_release(&w->ref);
		return 1;
	}
	return 0;
}

static void test_atomics(void)
{
	static atomic_t counter = ATOMIC_INIT(5);
	atomic64_t big = ATOMIC64_INIT(INT64_MAX - 1);
	atomic_long_t l = ATOMIC_LONG_INIT(-3);
	struct widget w = { .id = 7, .ref = { ATOMIC_INIT(1) }, .bytes = ATOMIC64_INIT(0),
			    .users = ATOMIC_LONG_INIT(0) };
	int old;

	is(atomic_read(&counter), 5, "ATOMIC_INIT and atomic_read");
	atomic_inc(&counter);
	atomic_set(&counter, atomic_read(&counter) * 2);
	is(atomic_read(&counter), 12, "atomic_inc and atomic_set");
	is(atomic_add_return(3, &counter), 15, "atomic_add_return");
	is(atomic_fetch_sub(5, &counter), 15, "atomic_fetch_sub returns old");
	is(atomic_sub_return(10, &counter), 0, "atomic_sub_return");
	ok(!atomic_add_negative(0, &counter) && atomic_add_negative(-1, &counter),
	   "atomic_add_negative");
	ok(atomic_inc_and_test(&counter), "atomic_inc_and_test back to 0");
	ok(!atomic_inc_not_zero(&counter), "atomic_inc_not_zero on 0");
	is(atomic_dec_if_positive(&counter), -1, "atomic_dec_if_positive on 0");
	atomic_set_release(&counter, 9);
	is(atomic_read_acquire(&counter), 9, "atomic_set_release / atomic_read_acquire");
	old = 9;
	ok(atomic_try_cmpxchg(&counter, &old, 10) && atomic_read(&counter) == 10,
	   "atomic_try_cmpxchg");
	is(atomic_xchg(&counter, 1), 10, "atomic_xchg returns old");
	ok(atomic_sub_and_test(1, &counter), "atomic_sub_and_test");

	is(atomic64_add_return(1, &big), INT64_MAX, "atomic64_add_return to INT64_MAX");
	is(atomic64_add_return(1, &big), INT64_MIN, "atomic64_add_return wraps");
	is(atomic64_read(&big), INT64_MIN, "atomic64_read");
	atomic64_set(&big, 1LL << 40);
	is(atomic64_fetch_or(1, &big), 1LL << 40, "atomic64_fetch_or");
	ok(atomic64_dec_and_test(&big) == false && atomic64_read(&big) == 1LL << 40,
	   "atomic64_dec_and_test");

	is(atomic_long_cmpxchg(&l, -3, LONG_MAX), -3, "atomic_long_cmpxchg success returns old");
	is(atomic_long_cmpxchg(&l, -3, 0), LONG_MAX, "atomic_long_cmpxchg failure returns found");
	is(atomic_long_read(&l), LONG_MAX, "atomic_long_read");
	ok(atomic_long_add_unless(&l, 1, 0) && atomic_long_read(&l) == LONG_MIN,
	   "atomic_long_add_unless");
	is(atomic_long_inc_return_relaxed(&l), LONG_MIN + 1, "atomic_long_inc_return_relaxed");

	/* the refcounted object */
	widget_get(&w);
	widget_get(&w);
	atomic64_add(4096, &w.bytes);
	atomic_long_inc(&w.users);
	is(widget_put(&w), 0, "put with references left does not release");
	is(widget_put(&w), 0, "second put does not release");
	is(widget_put(&w), 1, "last put releases");
	is(widgets_released, 7, "container_of found the widget from its embedded kref");
	is(atomic64_read(&w.bytes) + atomic_long_read(&w.users), 4097,
	   "atomic64_t and atomic_long_t members");
}

static void test_bitops(void)
{
	DECLARE_BITMAP(map, 130);
	struct widget w = { .id = 1 };
	unsigned long bit, seen = 0, sum = 0;

	is(sizeof(map), BITS_TO_LONGS(130) * sizeof(long), "DECLARE_BITMAP(130)");
	is(BITS_PER_LONG, 8 * sizeof(long), "BITS_PER_LONG");
	memset(map, 0, sizeof(map));
	set_bit(0, map);
	set_bit(BITS_PER_LONG, map);
	set_bit(129, map);
	ok(test_bit(129, map) && !test_bit(128, map), "set_bit / test_bit");
	is(map[BIT_WORD(129)], BIT_MASK(129), "set_bit(129) landed in the right word");
	is(find_first_bit(map, 130), 0, "find_first_bit");
	is(find_next_bit(map, 130, 1), BITS_PER_LONG, "find_next_bit");
	is(find_last_bit(map, 130), 129, "find_last_bit");
	is(find_first_zero_bit(map, 130), 1, "find_first_zero_bit");
	for_each_set_bit(bit, map, 130) {
		seen++;
		sum += bit;
	}
	ok(seen == 3 && sum == (unsigned long)BITS_PER_LONG + 129,
	   "for_each_set_bit visits 0, BITS_PER_LONG, 129");
	ok(test_and_clear_bit(129, map), "test_and_clear_bit on a set bit returns true");
	ok(!test_and_clear_bit(129, map), "test_and_clear_bit on a clear bit returns false");
	ok(!test_and_set_bit(5, map) && test_and_change_bit(5, map) && !test_bit(5, map),
	   "test_and_set_bit / test_and_change_bit");
	clear_bit(0, map);
	change_bit(BITS_PER_LONG, map);
	is(find_first_bit(map, 130), 130, "clear_bit and change_bit emptied the map");
	__set_bit(3, map);
	ok(__test_and_clear_bit(3, map) && !test_bit(3, map), "__set_bit / __test_and_clear_bit");

	/* flag bits in a struct, as drivers use them */
	ok(!test_and_set_bit_lock(WIDGET_BUSY, w.flags), "test_and_set_bit_lock takes a free bit lock");
	ok(test_and_set_bit_lock(WIDGET_BUSY, w.flags), "test_and_set_bit_lock on a held lock");
	clear_bit_unlock(WIDGET_BUSY, w.flags);
	set_bit(WIDGET_DEAD, w.flags);
	ok(test_bit(WIDGET_DEAD, w.flags), "a flag bit in a struct field");
	smp_mb__before_atomic();
	clear_bit(WIDGET_DEAD, w.flags);
	smp_mb__after_atomic();
	ok(w.flags[0] == 0 && w.flags[1] == 0,
	   "clear_bit_unlock and clear_bit (between smp_mb__before/after_atomic)");
	is(BIT(5), 32, "BIT(5)");
}

struct msg {
	int payload;
	struct msg *next;
};

static void test_barriers(void)
{
	static struct msg m1 = { .payload = 11 }, m2 = { .payload = 22 };
	static struct msg *head;
	static int ready;
	struct msg *p, *old;
	int v, x = 0, y = 0;
	long cnt = 0;
	struct msg *np = NULL;

	WRITE_ONCE(head, &m1);
	p = READ_ONCE(head);
	is(p->payload, 11, "WRITE_ONCE / READ_ONCE of a pointer");
	m2.payload = 23;
	smp_store_release(&head, &m2);
	p = smp_load_acquire(&head);
	is(p->payload, 23, "smp_store_release / smp_load_acquire");
	smp_store_mb(ready, 1);
	smp_mb();
	smp_rmb();
	smp_wmb();
	mb();
	rmb();
	wmb();
	barrier();
	v = READ_ONCE(ready);
	is(v, 1, "smp_store_mb, then every barrier");

	old = xchg(&head, np);
	ok(old == &m2 && head == NULL, "xchg on a pointer");
	old = cmpxchg(&head, NULL, &m1);
	ok(old == NULL && head == &m1, "cmpxchg on a pointer succeeds");
	old = cmpxchg(&head, NULL, &m2);
	ok(old == &m1 && head == &m1, "cmpxchg on a pointer fails, returns the found value");
	ok(try_cmpxchg(&x, &y, 5) && x == 5, "try_cmpxchg on an int succeeds");
	ok(!try_cmpxchg(&x, &y, 6) && y == 5 && x == 5, "try_cmpxchg failure updates *old");
	is(xchg(&cnt, 9L), 0, "xchg on a long returns old");
	is(cmpxchg_relaxed(&cnt, 9L, 10L), 9, "cmpxchg_relaxed");
	is(xchg_acquire(&cnt, 0L) + xchg_release(&cnt, 1L), 10, "xchg_acquire / xchg_release");
	if (likely(cnt == 1) && !unlikely(cnt != 1))
		cnt = 2;
	is(cnt, 2, "likely / unlikely");
}

int main(void)
{
	test_atomics();
	test_bitops();
	test_barriers();
	return done_testing();
}
