// SPDX-License-Identifier: MIT
/*
 * kipc/atomic.h: every operation on kipc_atomic_t, kipc_atomic64_t and
 * kipc_atomic_long_t in every ordering, with the boundary values (wrap-around,
 * add_negative, the conditional operations), the generic kipc_xchg /
 * kipc_cmpxchg / kipc_try_cmpxchg on plain scalars, threads that would lose
 * updates if an operation were not atomic, and release/acquire message
 * passing.
 */
#include <kipc/kipc.h>

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "testutil.h"

/* kipc.h alone must not define the kernel's names (that is linux.h's job). */
#if defined(atomic_inc) || defined(ATOMIC_INIT) || defined(smp_mb) || \
	defined(READ_ONCE) || defined(set_bit) || defined(container_of) || \
	defined(xchg) || defined(cmpxchg) || defined(BITS_PER_LONG)
#define KERNEL_NAMES_LEAKED 1
#else
#define KERNEL_NAMES_LEAKED 0
#endif
/* And no typedef either: these would clash with one. */
typedef int atomic_t;
typedef int atomic64_t;
typedef int atomic_long_t;

/* ------------------------------------------------------------------------ */
/* Single-threaded semantics, generated once per type and ordering.         */
/* ------------------------------------------------------------------------ */

/*
 * The value-returning operations that come in every ordering.  BIG is a
 * value that needs the whole width of the type (it is doubled without
 * overflow).
 */
#define RMW_SUITE(pfx, T, INIT, MIN, MAX, BIG, sfx)                            \
static void test_##pfx##_rmw##sfx(void)                                        \
{                                                                              \
	const char *P = "kipc_" #pfx, *S = #sfx;                               \
	kipc_##pfx##_t v = INIT(10);                                           \
	T o;                                                                   \
	bool b;                                                                \
									       \
	is(kipc_##pfx##_fetch_add##sfx(5, &v), 10, "%s_fetch_add%s returns old", P, S); \
	is(kipc_##pfx##_read(&v), 15, "%s_fetch_add%s adds", P, S);            \
	is(kipc_##pfx##_fetch_sub##sfx(7, &v), 15, "%s_fetch_sub%s returns old", P, S); \
	is(kipc_##pfx##_read(&v), 8, "%s_fetch_sub%s subtracts", P, S);        \
	is(kipc_##pfx##_fetch_inc##sfx(&v), 8, "%s_fetch_inc%s returns old", P, S); \
	is(kipc_##pfx##_read(&v), 9, "%s_fetch_inc%s increments", P, S);       \
	is(kipc_##pfx##_fetch_dec##sfx(&v), 9, "%s_fetch_dec%s returns old", P, S); \
	is(kipc_##pfx##_read(&v), 8, "%s_fetch_dec%s decrements", P, S);       \
	kipc_##pfx##_set(&v, 0x0ff0);                                          \
	is(kipc_##pfx##_fetch_and##sfx(0x00ff, &v), 0x0ff0, "%s_fetch_and%s returns old", P, S); \
	is(kipc_##pfx##_read(&v), 0x00f0, "%s_fetch_and%s ands", P, S);        \
	is(kipc_##pfx##_fetch_or##sfx(0x0f0f, &v), 0x00f0, "%s_fetch_or%s returns old", P, S); \
	is(kipc_##pfx##_read(&v), 0x0fff, "%s_fetch_or%s ors", P, S);          \
	is(kipc_##pfx##_fetch_xor##sfx(0x0ff0, &v), 0x0fff, "%s_fetch_xor%s returns old", P, S); \
	is(kipc_##pfx##_read(&v), 0x000f, "%s_fetch_xor%s xors", P, S);        \
	is(kipc_##pfx##_fetch_andnot##sfx(0x0003, &v), 0x000f, "%s_fetch_andnot%s returns old", P, S); \
	is(kipc_##pfx##_read(&v), 0x000c, "%s_fetch_andnot%s clears", P, S);   \
	kipc_##pfx##_set(&v, MIN);                                             \
	is(kipc_##pfx##_fetch_andnot##sfx(MIN, &v), MIN, "%s_fetch_andnot%s(MIN) returns old", P, S); \
	is(kipc_##pfx##_read(&v), 0, "%s_fetch_andnot%s clears the sign bit", P, S); \
	kipc_##pfx##_set(&v, BIG);                                             \
	is(kipc_##pfx##_fetch_add##sfx(BIG, &v), BIG, "%s_fetch_add%s of a wide value returns old", P, S); \
	is(kipc_##pfx##_read(&v), (T)(2 * (BIG)), "%s_fetch_add%s keeps every bit", P, S); \
	/* new-value forms */                                                  \
	kipc_##pfx##_set(&v, 10);                                              \
	is(kipc_##pfx##_add_return##sfx(5, &v), 15, "%s_add_return%s returns new", P, S); \
	is(kipc_##pfx##_sub_return##sfx(20, &v), -5, "%s_sub_return%s returns new", P, S); \
	is(kipc_##pfx##_inc_return##sfx(&v), -4, "%s_inc_return%s returns new", P, S); \
	is(kipc_##pfx##_dec_return##sfx(&v), -5, "%s_dec_return%s returns new", P, S); \
	is(kipc_##pfx##_read(&v), -5, "%s_*_return%s stored the results", P, S); \
	/* two's complement wrap-around */                                     \
	kipc_##pfx##_set(&v, MAX);                                             \
	is(kipc_##pfx##_add_return##sfx(1, &v), MIN, "%s_add_return%s(1) on MAX wraps to MIN", P, S); \
	is(kipc_##pfx##_read(&v), MIN, "%s_add_return%s stored MIN", P, S);    \
	is(kipc_##pfx##_sub_return##sfx(1, &v), MAX, "%s_sub_return%s(1) on MIN wraps to MAX", P, S); \
	is(kipc_##pfx##_inc_return##sfx(&v), MIN, "%s_inc_return%s on MAX wraps", P, S); \
	is(kipc_##pfx##_dec_return##sfx(&v), MAX, "%s_dec_return%s on MIN wraps", P, S); \
	is(kipc_##pfx##_fetch_inc##sfx(&v), MAX, "%s_fetch_inc%s on MAX returns MAX", P, S); \
	is(kipc_##pfx##_read(&v), MIN, "%s_fetch_inc%s on MAX stored MIN", P, S); \
	is(kipc_##pfx##_fetch_dec##sfx(&v), MIN, "%s_fetch_dec%s on MIN returns MIN", P, S); \
	is(kipc_##pfx##_read(&v), MAX, "%s_fetch_dec%s on MIN stored MAX", P, S); \
	is(kipc_##pfx##_fetch_add##sfx(MAX, &v), MAX, "%s_fetch_add%s(MAX) on MAX returns MAX", P, S); \
	is(kipc_##pfx##_read(&v), -2, "%s_fetch_add%s(MAX) on MAX stored -2", P, S); \
	kipc_##pfx##_set(&v, MIN);                                             \
	is(kipc_##pfx##_fetch_sub##sfx(1, &v), MIN, "%s_fetch_sub%s on MIN returns MIN", P, S); \
	is(kipc_##pfx##_read(&v), MAX, "%s_fetch_sub%s on MIN stored MAX", P, S); \
	/* add_negative: the sign of the result */                             \
	kipc_##pfx##_set(&v, 0);                                               \
	is(kipc_##pfx##_add_negative##sfx(-1, &v), true, "%s_add_negative%s(-1) on 0", P, S); \
	is(kipc_##pfx##_read(&v), -1, "%s_add_negative%s stored -1", P, S);    \
	is(kipc_##pfx##_add_negative##sfx(1, &v), false, "%s_add_negative%s to 0 is not negative", P, S); \
	is(kipc_##pfx##_read(&v), 0, "%s_add_negative%s stored 0", P, S);      \
	kipc_##pfx##_set(&v, MAX);                                             \
	is(kipc_##pfx##_add_negative##sfx(1, &v), true, "%s_add_negative%s(1) on MAX wraps negative", P, S); \
	is(kipc_##pfx##_read(&v), MIN, "%s_add_negative%s stored MIN", P, S);  \
	is(kipc_##pfx##_add_negative##sfx(-1, &v), false, "%s_add_negative%s(-1) on MIN wraps positive", P, S); \
	is(kipc_##pfx##_read(&v), MAX, "%s_add_negative%s stored MAX", P, S);  \
	/* xchg */                                                             \
	kipc_##pfx##_set(&v, 3);                                               \
	is(kipc_##pfx##_xchg##sfx(&v, BIG), 3, "%s_xchg%s returns old", P, S); \
	is(kipc_##pfx##_read(&v), BIG, "%s_xchg%s stores new", P, S);          \
	is(kipc_##pfx##_xchg##sfx(&v, MIN), BIG, "%s_xchg%s returns the wide old value", P, S); \
	is(kipc_##pfx##_read(&v), MIN, "%s_xchg%s stores MIN", P, S);          \
	/* try_cmpxchg */                                                      \
	kipc_##pfx##_set(&v, 5);                                               \
	o = 3;                                                                 \
	b = kipc_##pfx##_try_cmpxchg##sfx(&v, &o, 7);                          \
	is(b, false, "%s_try_cmpxchg%s fails when *old differs", P, S);        \
	is(o, 5, "%s_try_cmpxchg%s failure writes the found value to *old", P, S); \
	is(kipc_##pfx##_read(&v), 5, "%s_try_cmpxchg%s failure stores nothing", P, S); \
	b = kipc_##pfx##_try_cmpxchg##sfx(&v, &o, 7);                          \
	is(b, true, "%s_try_cmpxchg%s succeeds with the updated *old", P, S);  \
	is(o, 5, "%s_try_cmpxchg%s success leaves *old", P, S);                \
	is(kipc_##pfx##_read(&v), 7, "%s_try_cmpxchg%s success stores new", P, S); \
	o = 7;                                                                 \
	b = kipc_##pfx##_try_cmpxchg##sfx(&v, &o, MIN);                        \
	is(b && kipc_##pfx##_read(&v) == MIN, true, "%s_try_cmpxchg%s stores MIN", P, S); \
	/* cmpxchg */                                                          \
	kipc_##pfx##_set(&v, 7);                                               \
	is(kipc_##pfx##_cmpxchg##sfx(&v, 7, 9), 7, "%s_cmpxchg%s success returns the old value", P, S); \
	is(kipc_##pfx##_read(&v), 9, "%s_cmpxchg%s success stores new", P, S); \
	is(kipc_##pfx##_cmpxchg##sfx(&v, 1, 2), 9, "%s_cmpxchg%s failure returns the value found", P, S); \
	is(kipc_##pfx##_read(&v), 9, "%s_cmpxchg%s failure stores nothing", P, S); \
	is(kipc_##pfx##_cmpxchg##sfx(&v, 9, BIG), 9, "%s_cmpxchg%s to a wide value", P, S); \
	is(kipc_##pfx##_cmpxchg##sfx(&v, (T)((BIG) + 1), 0), BIG, "%s_cmpxchg%s compares every bit", P, S); \
	is(kipc_##pfx##_read(&v), BIG, "%s_cmpxchg%s near miss stores nothing", P, S); \
}

/* The operations that exist once per type. */
#define TYPE_SUITE(pfx, T, INIT, MIN, MAX, BIG)                                \
RMW_SUITE(pfx, T, INIT, MIN, MAX, BIG, )                                       \
RMW_SUITE(pfx, T, INIT, MIN, MAX, BIG, _relaxed)                               \
RMW_SUITE(pfx, T, INIT, MIN, MAX, BIG, _acquire)                               \
RMW_SUITE(pfx, T, INIT, MIN, MAX, BIG, _release)                               \
static void test_##pfx(void)                                                   \
{                                                                              \
	const char *P = "kipc_" #pfx;                                          \
	kipc_##pfx##_t v = INIT(42), w = INIT(MIN);                            \
									       \
	is(kipc_##pfx##_read(&v), 42, "%s: INIT(42) then read", P);            \
	is(kipc_##pfx##_read_acquire(&w), MIN, "%s: INIT(MIN) then read_acquire", P); \
	_Static_assert(sizeof(v.counter) == sizeof(T), "counter width");       \
	kipc_##pfx##_set(&v, BIG);                                             \
	is(kipc_##pfx##_read(&v), BIG, "%s_set stores a wide value", P);       \
	kipc_##pfx##_set_release(&v, -1);                                      \
	is(kipc_##pfx##_read_acquire(&v), -1, "%s_set_release then read_acquire", P); \
	/* void operations */                                                  \
	kipc_##pfx##_set(&v, 10);                                              \
	kipc_##pfx##_add(5, &v);                                               \
	is(kipc_##pfx##_read(&v), 15, "%s_add", P);                            \
	kipc_##pfx##_sub(20, &v);                                              \
	is(kipc_##pfx##_read(&v), -5, "%s_sub", P);                            \
	kipc_##pfx##_inc(&v);                                                  \
	is(kipc_##pfx##_read(&v), -4, "%s_inc", P);                            \
	kipc_##pfx##_dec(&v);                                                  \
	kipc_##pfx##_dec(&v);                                                  \
	is(kipc_##pfx##_read(&v), -6, "%s_dec", P);                            \
	kipc_##pfx##_set(&v, 0x0ff0);                                          \
	kipc_##pfx##_and(0x00ff, &v);                                          \
	is(kipc_##pfx##_read(&v), 0x00f0, "%s_and", P);                        \
	kipc_##pfx##_or(0x0f0f, &v);                                           \
	is(kipc_##pfx##_read(&v), 0x0fff, "%s_or", P);                         \
	kipc_##pfx##_xor(0x0ff0, &v);                                          \
	is(kipc_##pfx##_read(&v), 0x000f, "%s_xor", P);                        \
	kipc_##pfx##_andnot(0x0003, &v);                                       \
	is(kipc_##pfx##_read(&v), 0x000c, "%s_andnot", P);                     \
	kipc_##pfx##_set(&v, MAX);                                             \
	kipc_##pfx##_inc(&v);                                                  \
	is(kipc_##pfx##_read(&v), MIN, "%s_inc on MAX wraps to MIN", P);       \
	kipc_##pfx##_dec(&v);                                                  \
	is(kipc_##pfx##_read(&v), MAX, "%s_dec on MIN wraps to MAX", P);       \
	kipc_##pfx##_add(MAX, &v);                                             \
	is(kipc_##pfx##_read(&v), -2, "%s_add(MAX) on MAX wraps to -2", P);    \
	kipc_##pfx##_set(&v, MIN);                                             \
	kipc_##pfx##_sub(MAX, &v);                                             \
	is(kipc_##pfx##_read(&v), 1, "%s_sub(MAX) on MIN wraps to 1", P);      \
	/* *_and_test */                                                       \
	kipc_##pfx##_set(&v, 5);                                               \
	is(kipc_##pfx##_sub_and_test(4, &v), false, "%s_sub_and_test to 1 is false", P); \
	is(kipc_##pfx##_sub_and_test(1, &v), true, "%s_sub_and_test to 0 is true", P); \
	is(kipc_##pfx##_sub_and_test(1, &v), false, "%s_sub_and_test to -1 is false", P); \
	is(kipc_##pfx##_read(&v), -1, "%s_sub_and_test subtracted", P);        \
	kipc_##pfx##_set(&v, MIN);                                             \
	is(kipc_##pfx##_sub_and_test(MIN, &v), true, "%s_sub_and_test(MIN) on MIN", P); \
	kipc_##pfx##_set(&v, 2);                                               \
	is(kipc_##pfx##_dec_and_test(&v), false, "%s_dec_and_test 2 -> 1", P); \
	is(kipc_##pfx##_dec_and_test(&v), true, "%s_dec_and_test 1 -> 0", P); \
	is(kipc_##pfx##_dec_and_test(&v), false, "%s_dec_and_test 0 -> -1", P); \
	is(kipc_##pfx##_read(&v), -1, "%s_dec_and_test decremented", P);       \
	kipc_##pfx##_set(&v, -2);                                              \
	is(kipc_##pfx##_inc_and_test(&v), false, "%s_inc_and_test -2 -> -1", P); \
	is(kipc_##pfx##_inc_and_test(&v), true, "%s_inc_and_test -1 -> 0", P); \
	is(kipc_##pfx##_inc_and_test(&v), false, "%s_inc_and_test 0 -> 1", P); \
	is(kipc_##pfx##_read(&v), 1, "%s_inc_and_test incremented", P);        \
	kipc_##pfx##_set(&v, MAX);                                             \
	is(kipc_##pfx##_inc_and_test(&v), false, "%s_inc_and_test on MAX (wraps to MIN)", P); \
	/* fetch_add_unless / add_unless */                                    \
	kipc_##pfx##_set(&v, 5);                                               \
	is(kipc_##pfx##_fetch_add_unless(&v, 3, 5), 5, "%s_fetch_add_unless when v == u returns v", P); \
	is(kipc_##pfx##_read(&v), 5, "%s_fetch_add_unless when v == u does not add", P); \
	is(kipc_##pfx##_fetch_add_unless(&v, 3, 4), 5, "%s_fetch_add_unless when v != u returns old", P); \
	is(kipc_##pfx##_read(&v), 8, "%s_fetch_add_unless when v != u adds", P); \
	is(kipc_##pfx##_fetch_add_unless(&v, BIG, 0), 8, "%s_fetch_add_unless of a wide value", P); \
	is(kipc_##pfx##_read(&v), (T)((BIG) + 8), "%s_fetch_add_unless added every bit", P); \
	kipc_##pfx##_set(&v, MAX);                                             \
	is(kipc_##pfx##_fetch_add_unless(&v, 1, 0), MAX, "%s_fetch_add_unless on MAX", P); \
	is(kipc_##pfx##_read(&v), MIN, "%s_fetch_add_unless wraps to MIN", P); \
	is(kipc_##pfx##_add_unless(&v, 1, MIN), false, "%s_add_unless when v == u (MIN)", P); \
	is(kipc_##pfx##_read(&v), MIN, "%s_add_unless when v == u does not add", P); \
	kipc_##pfx##_set(&v, 5);                                               \
	is(kipc_##pfx##_add_unless(&v, -10, 0), true, "%s_add_unless when v != u", P); \
	is(kipc_##pfx##_read(&v), -5, "%s_add_unless added", P);               \
	is(kipc_##pfx##_add_unless(&v, 1, -5), false, "%s_add_unless when v == u (-5)", P); \
	is(kipc_##pfx##_read(&v), -5, "%s_add_unless did not add", P);         \
	/* inc_not_zero */                                                     \
	kipc_##pfx##_set(&v, 0);                                               \
	is(kipc_##pfx##_inc_not_zero(&v), false, "%s_inc_not_zero on 0", P);   \
	is(kipc_##pfx##_read(&v), 0, "%s_inc_not_zero leaves 0", P);           \
	kipc_##pfx##_set(&v, 1);                                               \
	is(kipc_##pfx##_inc_not_zero(&v), true, "%s_inc_not_zero on 1", P);    \
	is(kipc_##pfx##_read(&v), 2, "%s_inc_not_zero on 1 gives 2", P);       \
	kipc_##pfx##_set(&v, -1);                                              \
	is(kipc_##pfx##_inc_not_zero(&v), true, "%s_inc_not_zero on -1", P);   \
	is(kipc_##pfx##_read(&v), 0, "%s_inc_not_zero on -1 gives 0", P);      \
	/* inc_unless_negative */                                              \
	kipc_##pfx##_set(&v, -1);                                              \
	is(kipc_##pfx##_inc_unless_negative(&v), false, "%s_inc_unless_negative on -1", P); \
	is(kipc_##pfx##_read(&v), -1, "%s_inc_unless_negative leaves -1", P);  \
	kipc_##pfx##_set(&v, 0);                                               \
	is(kipc_##pfx##_inc_unless_negative(&v), true, "%s_inc_unless_negative on 0", P); \
	is(kipc_##pfx##_read(&v), 1, "%s_inc_unless_negative on 0 gives 1", P); \
	is(kipc_##pfx##_inc_unless_negative(&v), true, "%s_inc_unless_negative on 1", P); \
	is(kipc_##pfx##_read(&v), 2, "%s_inc_unless_negative on 1 gives 2", P); \
	kipc_##pfx##_set(&v, MIN);                                             \
	is(kipc_##pfx##_inc_unless_negative(&v), false, "%s_inc_unless_negative on MIN", P); \
	is(kipc_##pfx##_read(&v), MIN, "%s_inc_unless_negative leaves MIN", P); \
	/* dec_unless_positive */                                              \
	kipc_##pfx##_set(&v, 1);                                               \
	is(kipc_##pfx##_dec_unless_positive(&v), false, "%s_dec_unless_positive on 1", P); \
	is(kipc_##pfx##_read(&v), 1, "%s_dec_unless_positive leaves 1", P);    \
	kipc_##pfx##_set(&v, 0);                                               \
	is(kipc_##pfx##_dec_unless_positive(&v), true, "%s_dec_unless_positive on 0", P); \
	is(kipc_##pfx##_read(&v), -1, "%s_dec_unless_positive on 0 gives -1", P); \
	is(kipc_##pfx##_dec_unless_positive(&v), true, "%s_dec_unless_positive on -1", P); \
	is(kipc_##pfx##_read(&v), -2, "%s_dec_unless_positive on -1 gives -2", P); \
	kipc_##pfx##_set(&v, MAX);                                             \
	is(kipc_##pfx##_dec_unless_positive(&v), false, "%s_dec_unless_positive on MAX", P); \
	is(kipc_##pfx##_read(&v), MAX, "%s_dec_unless_positive leaves MAX", P); \
	/* dec_if_positive: returns old - 1, stores it only if old > 0 */      \
	kipc_##pfx##_set(&v, 2);                                               \
	is(kipc_##pfx##_dec_if_positive(&v), 1, "%s_dec_if_positive on 2 returns 1", P); \
	is(kipc_##pfx##_read(&v), 1, "%s_dec_if_positive on 2 stores 1", P);   \
	is(kipc_##pfx##_dec_if_positive(&v), 0, "%s_dec_if_positive on 1 returns 0", P); \
	is(kipc_##pfx##_read(&v), 0, "%s_dec_if_positive on 1 stores 0", P);   \
	is(kipc_##pfx##_dec_if_positive(&v), -1, "%s_dec_if_positive on 0 returns -1", P); \
	is(kipc_##pfx##_read(&v), 0, "%s_dec_if_positive on 0 stores nothing", P); \
	kipc_##pfx##_set(&v, -5);                                              \
	is(kipc_##pfx##_dec_if_positive(&v), -6, "%s_dec_if_positive on -5 returns -6", P); \
	is(kipc_##pfx##_read(&v), -5, "%s_dec_if_positive on -5 stores nothing", P); \
	kipc_##pfx##_set(&v, MIN);                                             \
	ok(kipc_##pfx##_dec_if_positive(&v) < 0, "%s_dec_if_positive on MIN returns a negative value", P); \
	is(kipc_##pfx##_read(&v), MIN, "%s_dec_if_positive on MIN stores nothing", P); \
	kipc_##pfx##_set(&v, MAX);                                             \
	is(kipc_##pfx##_dec_if_positive(&v), (T)((MAX) - 1), "%s_dec_if_positive on MAX returns MAX-1", P); \
	is(kipc_##pfx##_read(&v), (T)((MAX) - 1), "%s_dec_if_positive on MAX stores MAX-1", P); \
									       \
	test_##pfx##_rmw();                                                    \
	test_##pfx##_rmw_relaxed();                                            \
	test_##pfx##_rmw_acquire();                                            \
	test_##pfx##_rmw_release();                                            \
}

TYPE_SUITE(atomic, int, KIPC_ATOMIC_INIT, INT_MIN, INT_MAX, 0x12345678)
TYPE_SUITE(atomic64, int64_t, KIPC_ATOMIC64_INIT, INT64_MIN, INT64_MAX,
	   INT64_C(0x1234567890abcde))
TYPE_SUITE(atomic_long, long, KIPC_ATOMIC_LONG_INIT, LONG_MIN, LONG_MAX,
	   (long)(LONG_MAX / 3))

/* ------------------------------------------------------------------------ */
/* kipc_xchg / kipc_cmpxchg / kipc_try_cmpxchg on plain scalars.            */
/* ------------------------------------------------------------------------ */

/*
 * Each scalar sits between two guard fields, so an access of the wrong
 * width shows up in the neighbours.
 */
#define GENERIC_CHECK(T, name, A, B, C, sfx) do {                              \
	struct { T lo; T x; T hi; } s;                                         \
	T o;                                                                   \
	bool b;                                                                \
									       \
	memset(&s, 0x5a, sizeof(s));                                           \
	s.x = (A);                                                             \
	ok(kipc_xchg##sfx(&s.x, (B)) == (A), "kipc_xchg%s(%s) returns old", #sfx, name); \
	ok(s.x == (B), "kipc_xchg%s(%s) stores new", #sfx, name);              \
	ok(kipc_cmpxchg##sfx(&s.x, (B), (C)) == (B),                           \
	   "kipc_cmpxchg%s(%s) success returns the old value", #sfx, name);    \
	ok(s.x == (C), "kipc_cmpxchg%s(%s) success stores new", #sfx, name);   \
	ok(kipc_cmpxchg##sfx(&s.x, (A), (B)) == (C),                           \
	   "kipc_cmpxchg%s(%s) failure returns the value found", #sfx, name);  \
	ok(s.x == (C), "kipc_cmpxchg%s(%s) failure stores nothing", #sfx, name); \
	o = (A);                                                               \
	b = kipc_try_cmpxchg##sfx(&s.x, &o, (B));                              \
	ok(!b, "kipc_try_cmpxchg%s(%s) fails when *old differs", #sfx, name);  \
	ok(o == (C), "kipc_try_cmpxchg%s(%s) failure updates *old", #sfx, name); \
	ok(s.x == (C), "kipc_try_cmpxchg%s(%s) failure stores nothing", #sfx, name); \
	b = kipc_try_cmpxchg##sfx(&s.x, &o, (A));                              \
	ok(b, "kipc_try_cmpxchg%s(%s) succeeds with the updated *old", #sfx, name); \
	ok(s.x == (A) && o == (C), "kipc_try_cmpxchg%s(%s) success stores new, keeps *old", #sfx, name); \
	memset(&o, 0x5a, sizeof(o));                                           \
	ok(!memcmp(&s.lo, &o, sizeof(o)) && !memcmp(&s.hi, &o, sizeof(o)),    \
	   "kipc_*xchg%s(%s) left the neighbours alone", #sfx, name);          \
} while (0)

static int ptr_targets[3];

#define GENERIC_SUITE(sfx)                                                     \
static void test_generic##sfx(void)                                            \
{                                                                              \
	GENERIC_CHECK(int, "int", 1, INT_MIN, INT_MAX, sfx);                   \
	GENERIC_CHECK(long, "long", LONG_MAX, -1L, LONG_MIN, sfx);             \
	GENERIC_CHECK(int64_t, "int64_t", INT64_C(1) << 40, INT64_C(-7),       \
		      (INT64_C(1) << 40) + 1, sfx);                            \
	GENERIC_CHECK(uint8_t, "uint8_t", 0xff, 0x01, 0x80, sfx);              \
	GENERIC_CHECK(unsigned long, "unsigned long", ~0UL, 0UL, 1UL << 63, sfx); \
	GENERIC_CHECK(int *, "pointer", &ptr_targets[0], NULL, &ptr_targets[2], sfx); \
}

GENERIC_SUITE()
GENERIC_SUITE(_relaxed)
GENERIC_SUITE(_acquire)
GENERIC_SUITE(_release)

/* ------------------------------------------------------------------------ */
/* Threads: lost updates, dec_and_test, message passing.                    */
/* ------------------------------------------------------------------------ */

#define NTHREADS   4
#define MT_ITERS   200000L
#define MT_SECONDS 1.0  /* per test; qemu and TSan are far slower */

struct worker {
	pthread_t tid;
	int id;
	long done;     /* operations this thread completed */
	long errors;   /* per-thread consistency failures */
	long hits;     /* e.g. how often dec_and_test said true */
	void (*fn)(struct worker *);
};

static int start_gate;
static double mt_deadline;

static bool keep_going(const struct worker *w)
{
	if (w->done >= MT_ITERS)
		return false;
	if ((w->done & 1023) == 0 && now() > mt_deadline)
		return false;
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int spins = 0;

	while (!kipc_smp_load_acquire(&start_gate))
		spin_yield(&spins);
	w->fn(w);
	return NULL;
}

/* Runs fn on NTHREADS threads; returns the sum of their done counts. */
static long run_workers(void (*fn)(struct worker *), struct worker *ws, long *errors)
{
	long total = 0;
	int i;

	*errors = 0;
	KIPC_WRITE_ONCE(start_gate, 0);
	mt_deadline = now() + MT_SECONDS;
	for (i = 0; i < NTHREADS; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].id = i;
		ws[i].fn = fn;
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i])) {
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

static kipc_atomic_t ga;
static kipc_atomic64_t g64;
static kipc_atomic_long_t gl;
static kipc_atomic_t glock;
static int plain_lock;
static long plain_counter;
static long plain_long;

static void m_inc(struct worker *w)
{
	for (; keep_going(w); w->done++)
		kipc_atomic_inc(&ga);
}

static void m_dec(struct worker *w)
{
	for (; keep_going(w); w->done++)
		kipc_atomic64_dec(&g64);
}

static void m_add_sub_long(struct worker *w)
{
	for (; keep_going(w); w->done++) {
		kipc_atomic_long_add(3, &gl);
		kipc_atomic_long_sub(2, &gl);
	}
}

/* A counter only grows, so each thread must see its results increase. */
static void m_add_return(struct worker *w)
{
	int last = INT_MIN, r;

	for (; keep_going(w); w->done++) {
		r = kipc_atomic_add_return(1, &ga);
		if (r <= last)
			w->errors++;
		last = r;
	}
}

static void m_fetch_add64(struct worker *w)
{
	int64_t last = -1, r;

	for (; keep_going(w); w->done++) {
		r = kipc_atomic64_fetch_add(1, &g64);
		if (r <= last)
			w->errors++;
		last = r;
	}
}

static void m_fetch_inc_long_relaxed(struct worker *w)
{
	long last = -1, r;

	for (; keep_going(w); w->done++) {
		r = kipc_atomic_long_fetch_inc_relaxed(&gl);
		if (r <= last)
			w->errors++;
		last = r;
	}
}

static void m_inc_return_release64(struct worker *w)
{
	int64_t last = 0, r;

	for (; keep_going(w); w->done++) {
		r = kipc_atomic64_inc_return_release(&g64);
		if (r <= last)
			w->errors++;
		last = r;
	}
}

static void m_try_cmpxchg64(struct worker *w)
{
	int64_t c;

	for (; keep_going(w); w->done++) {
		c = kipc_atomic64_read(&g64);
		while (!kipc_atomic64_try_cmpxchg(&g64, &c, c + 1))
			;
	}
}

static void m_cmpxchg_long_acquire(struct worker *w)
{
	long c, o;

	for (; keep_going(w); w->done++) {
		c = kipc_atomic_long_read(&gl);
		while ((o = kipc_atomic_long_cmpxchg_acquire(&gl, c, c + 1)) != c)
			c = o;
	}
}

static void m_add_unless(struct worker *w)
{
	for (; keep_going(w); w->done++)
		if (!kipc_atomic_add_unless(&ga, 1, -1))
			w->errors++;
}

static void m_inc_not_zero64(struct worker *w)
{
	for (; keep_going(w); w->done++)
		if (!kipc_atomic64_inc_not_zero(&g64))
			w->errors++;
}

/* A spinlock from atomic xchg_acquire/set_release guarding a plain counter. */
static void m_xchg_lock(struct worker *w)
{
	unsigned int spins = 0;

	for (; keep_going(w); w->done++) {
		while (kipc_atomic_xchg_acquire(&glock, 1))
			spin_yield(&spins);
		plain_counter++;
		kipc_atomic_set_release(&glock, 0);
	}
}

/* The same with the generic kipc_xchg on a plain int. */
static void m_generic_xchg_lock(struct worker *w)
{
	unsigned int spins = 0;

	for (; keep_going(w); w->done++) {
		while (kipc_xchg(&plain_lock, 1))
			spin_yield(&spins);
		plain_counter++;
		kipc_smp_store_release(&plain_lock, 0);
	}
}

static void m_generic_try_cmpxchg(struct worker *w)
{
	long c;

	for (; keep_going(w); w->done++) {
		c = KIPC_READ_ONCE(plain_long);
		while (!kipc_try_cmpxchg(&plain_long, &c, c + 1))
			;
	}
}

static void m_generic_cmpxchg_relaxed(struct worker *w)
{
	long c, o;

	for (; keep_going(w); w->done++) {
		c = KIPC_READ_ONCE(plain_long);
		while ((o = kipc_cmpxchg_relaxed(&plain_long, c, c + 1)) != c)
			c = o;
	}
}

static void reset_globals(void)
{
	kipc_atomic_set(&ga, 0);
	kipc_atomic64_set(&g64, 0);
	kipc_atomic_long_set(&gl, 0);
	kipc_atomic_set(&glock, 0);
	plain_lock = 0;
	plain_counter = 0;
	plain_long = 0;
}

static void test_lost_updates(void)
{
	struct worker ws[NTHREADS];
	long total, errors;

#define MT_CASE(fn, init, final_expr, expect_expr, what) do {                  \
	reset_globals();                                                       \
	init;                                                                  \
	total = run_workers(fn, ws, &errors);                                  \
	is((long long)(final_expr), (long long)(expect_expr),                  \
	   "%d threads x %s: no lost update (%ld ops)", NTHREADS, what, total); \
	is(errors, 0, "%s: every thread saw consistent return values", what);  \
} while (0)

	MT_CASE(m_inc, (void)0, kipc_atomic_read(&ga), total, "kipc_atomic_inc");
	MT_CASE(m_dec, kipc_atomic64_set(&g64, 5), kipc_atomic64_read(&g64), 5 - total,
		"kipc_atomic64_dec");
	MT_CASE(m_add_sub_long, (void)0, kipc_atomic_long_read(&gl), total,
		"kipc_atomic_long_add(3)+sub(2)");
	MT_CASE(m_add_return, (void)0, kipc_atomic_read(&ga), total, "kipc_atomic_add_return");
	MT_CASE(m_fetch_add64, (void)0, kipc_atomic64_read(&g64), total,
		"kipc_atomic64_fetch_add");
	MT_CASE(m_fetch_inc_long_relaxed, (void)0, kipc_atomic_long_read(&gl), total,
		"kipc_atomic_long_fetch_inc_relaxed");
	MT_CASE(m_inc_return_release64, (void)0, kipc_atomic64_read(&g64), total,
		"kipc_atomic64_inc_return_release");
	MT_CASE(m_try_cmpxchg64, (void)0, kipc_atomic64_read(&g64), total,
		"kipc_atomic64_try_cmpxchg loop");
	MT_CASE(m_cmpxchg_long_acquire, (void)0, kipc_atomic_long_read(&gl), total,
		"kipc_atomic_long_cmpxchg_acquire loop");
	MT_CASE(m_add_unless, (void)0, kipc_atomic_read(&ga), total, "kipc_atomic_add_unless");
	MT_CASE(m_inc_not_zero64, kipc_atomic64_set(&g64, 1), kipc_atomic64_read(&g64),
		total + 1, "kipc_atomic64_inc_not_zero");
	MT_CASE(m_xchg_lock, (void)0, plain_counter, total,
		"kipc_atomic_xchg_acquire lock");
	MT_CASE(m_generic_xchg_lock, (void)0, plain_counter, total, "kipc_xchg lock");
	MT_CASE(m_generic_try_cmpxchg, (void)0, plain_long, total, "kipc_try_cmpxchg loop");
	MT_CASE(m_generic_cmpxchg_relaxed, (void)0, plain_long, total,
		"kipc_cmpxchg_relaxed loop");
#undef MT_CASE
}

/* Every counter is driven to zero by the threads: exactly one sees it. */
#define DEC_PER_THREAD 20000

static void m_dec_and_test(struct worker *w)
{
	int i;

	for (i = 0; i < DEC_PER_THREAD; i++) {
		if (kipc_atomic_dec_and_test(&ga))
			w->hits += 1;
		if (kipc_atomic64_dec_and_test(&g64))
			w->hits += 1 << 8;
		if (kipc_atomic_long_sub_and_test(1, &gl))
			w->hits += 1 << 16;
		if (kipc_atomic_inc_and_test(&glock))
			w->hits += 1 << 24;
		w->done++;
	}
}

static void test_dec_and_test(void)
{
	struct worker ws[NTHREADS];
	long errors, hits = 0;
	int i;

	kipc_atomic_set(&ga, NTHREADS * DEC_PER_THREAD);
	kipc_atomic64_set(&g64, NTHREADS * DEC_PER_THREAD);
	kipc_atomic_long_set(&gl, NTHREADS * DEC_PER_THREAD);
	kipc_atomic_set(&glock, -NTHREADS * DEC_PER_THREAD);
	run_workers(m_dec_and_test, ws, &errors);
	for (i = 0; i < NTHREADS; i++)
		hits += ws[i].hits;
	is(hits & 0xff, 1, "kipc_atomic_dec_and_test is true exactly once across threads");
	is((hits >> 8) & 0xff, 1, "kipc_atomic64_dec_and_test is true exactly once");
	is((hits >> 16) & 0xff, 1, "kipc_atomic_long_sub_and_test is true exactly once");
	is((hits >> 24) & 0xff, 1, "kipc_atomic_inc_and_test is true exactly once");
	ok(kipc_atomic_read(&ga) == 0 && kipc_atomic64_read(&g64) == 0 &&
	   kipc_atomic_long_read(&gl) == 0 && kipc_atomic_read(&glock) == 0,
	   "and every counter ended at 0");
}

/*
 * Message passing: the writer stores data (relaxed), then the round number
 * with a release; a reader that acquires round n must see data >= n.
 */
#define MP_WORDS 4
#define MP_FRESH 100000   /* the reader stops after seeing this many new flags */

static int mp_data[MP_WORDS];
static int mp_flag;
static kipc_atomic_t mp_aflag;
static int mp_ready, mp_stop_req, mp_done;

static void *mp_writer(void *arg)
{
	int *last = arg, i, j;
	unsigned int spins = 0;

	while (!kipc_smp_load_acquire(&mp_ready))
		spin_yield(&spins);
	for (i = 1; i < INT_MAX / 2 && !KIPC_READ_ONCE(mp_stop_req); i++) {
		for (j = 0; j < MP_WORDS; j++)
			KIPC_WRITE_ONCE(mp_data[j], i);
		if (i & 1)
			kipc_smp_store_release(&mp_flag, i);
		else
			kipc_atomic_set_release(&mp_aflag, i);
	}
	*last = i - 1;
	kipc_smp_store_release(&mp_done, 1);
	return NULL;
}

static void test_message_passing(void)
{
	pthread_t t;
	long bad = 0, reads = 0, fresh = 0;
	int f, g, j, last = -1, prev = 0, done;
	double end = now() + MT_SECONDS;

	memset(mp_data, 0, sizeof(mp_data));
	mp_flag = 0;
	kipc_atomic_set(&mp_aflag, 0);
	pthread_create(&t, NULL, mp_writer, &last);
	kipc_smp_store_release(&mp_ready, 1);
	for (;;) {
		done = kipc_smp_load_acquire(&mp_done);
		f = kipc_smp_load_acquire(&mp_flag);
		for (j = 0; j < MP_WORDS; j++)
			if (KIPC_READ_ONCE(mp_data[j]) < f)
				bad++;
		g = kipc_atomic_read_acquire(&mp_aflag);
		for (j = 0; j < MP_WORDS; j++)
			if (KIPC_READ_ONCE(mp_data[j]) < g)
				bad++;
		if (f > prev)
			fresh++;
		prev = f > g ? f : g;
		reads++;
		if (done)
			break;
		if (fresh >= MP_FRESH || ((reads & 1023) == 0 && now() > end))
			KIPC_WRITE_ONCE(mp_stop_req, 1);
	}
	pthread_join(t, NULL);
	is(bad, 0, "message passing: data written before a release is seen after the "
	   "acquire (%ld reads, %ld saw a new flag)", reads, fresh);
	is(prev, last, "after the writer's release of done, the reader sees its last flag");
}

/*
 * Message passing with plain data and a hand-back, so that ThreadSanitizer
 * checks the happens-before edges: were the release or the acquire weaker,
 * it would report a race on ping_data.
 */
static long ping_data[4];
static int ping_flag, pong_flag, ping_stop;

static void *ping_reader(void *arg)
{
	long *bad = arg;
	unsigned int spins = 0;
	int i, j;

	for (i = 1;; i++) {
		while (kipc_smp_load_acquire(&ping_flag) < i) {
			if (kipc_smp_load_acquire(&ping_stop))
				return NULL;
			spin_yield(&spins);
		}
		for (j = 0; j < 4; j++)
			if (ping_data[j] != (long)i * (j + 1))
				(*bad)++;
		for (j = 0; j < 4; j++)
			ping_data[j] = -1;
		kipc_smp_store_release(&pong_flag, i);
	}
	return NULL;
}

static void test_handoff(void)
{
	pthread_t t;
	long bad = 0;
	unsigned int spins = 0;
	double end = now() + MT_SECONDS;
	int i, j, bad_back = 0;

	ping_flag = pong_flag = ping_stop = 0;
	pthread_create(&t, NULL, ping_reader, &bad);
	for (i = 1; i <= 5000 && now() < end; i++) {
		for (j = 0; j < 4; j++)
			ping_data[j] = (long)i * (j + 1);
		kipc_smp_store_release(&ping_flag, i);
		while (kipc_smp_load_acquire(&pong_flag) < i)
			spin_yield(&spins);
		for (j = 0; j < 4; j++)
			if (ping_data[j] != -1)
				bad_back++;
	}
	kipc_smp_store_release(&ping_stop, 1);
	pthread_join(t, NULL);
	is(bad + bad_back, 0, "release/acquire hand-off of plain data, %d rounds", i - 1);
}

int main(void)
{
	ok(!KERNEL_NAMES_LEAKED, "<kipc/kipc.h> alone defines none of the kernel's names");
	test_atomic();
	test_atomic64();
	test_atomic_long();
	test_generic();
	test_generic_relaxed();
	test_generic_acquire();
	test_generic_release();
	test_lost_updates();
	test_dec_and_test();
	test_message_passing();
	test_handoff();
	return done_testing();
}
