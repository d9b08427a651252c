/* SPDX-License-Identifier: MIT */
/*
 * kipc/atomic.h - the kernel's atomic_t, atomic64_t and atomic_long_t.
 *
 * Types and initialisers:
 *   kipc_atomic_t (int)  kipc_atomic64_t (int64_t)  kipc_atomic_long_t (long)
 *   KIPC_ATOMIC_INIT(i)  KIPC_ATOMIC64_INIT(i)      KIPC_ATOMIC_LONG_INIT(i)
 *
 * Every operation below exists for each type, with the prefix kipc_atomic_,
 * kipc_atomic64_ or kipc_atomic_long_ (shown here for kipc_atomic_t):
 *
 *   int  read(const v)              void set(v, i)            relaxed
 *   int  read_acquire(const v)      void set_release(v, i)
 *   void add(i, v) sub(i, v) inc(v) dec(v)                    relaxed, no value
 *   void and(i, v) or(i, v) xor(i, v) andnot(i, v)            relaxed, no value
 *   int  add_return(i, v) sub_return(i, v) inc_return(v) dec_return(v)
 *                                                             new value
 *   int  fetch_add(i, v) fetch_sub(i, v) fetch_inc(v) fetch_dec(v)
 *        fetch_and(i, v) fetch_or(i, v) fetch_xor(i, v) fetch_andnot(i, v)
 *                                                             old value
 *   int  xchg(v, new)               old value
 *   int  cmpxchg(v, old, new)       value found; stored new iff it was old
 *   bool try_cmpxchg(v, &old, new)  true if stored; else *old = value found
 *   bool sub_and_test(i, v) dec_and_test(v) inc_and_test(v)   result == 0
 *   bool add_negative(i, v)                                   result < 0
 *   int  fetch_add_unless(v, a, u)  add a unless v == u; old value
 *   bool add_unless(v, a, u)        true if it added
 *   bool inc_not_zero(v)  inc_unless_negative(v)  dec_unless_positive(v)
 *   int  dec_if_positive(v)         old - 1, stored only if old > 0 (MIN gives MIN)
 *
 * Every value-returning operation also comes as _relaxed, _acquire and
 * _release (kipc_atomic_fetch_add_acquire, kipc_atomic_xchg_relaxed, ...).
 *
 * Ordering is the kernel's (Documentation/atomic_t.txt): the unsuffixed
 * value-returning operations are fully ordered, as if kipc_smp_mb() ran
 * before and after them; read, set and the void operations are relaxed (add
 * kipc_smp_mb__before_atomic()/__after_atomic() where ordering is needed);
 * a failed conditional operation (cmpxchg that finds another value,
 * add_unless that does not add, ...) implies no ordering at all.
 * Arithmetic wraps in two's complement, as in the kernel: no overflow is
 * undefined.
 *
 * Also the kernel's xchg()/cmpxchg()/try_cmpxchg() on any plain scalar:
 *   kipc_xchg(ptr, new)  kipc_cmpxchg(ptr, old, new)  kipc_try_cmpxchg(ptr, &old, new)
 * with the same _relaxed/_acquire/_release forms.
 */
#ifndef KIPC_ATOMIC_H
#define KIPC_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>
#include <kipc/barrier.h>

typedef struct { int counter; } kipc_atomic_t;
typedef struct { int64_t counter; } kipc_atomic64_t;
typedef struct { long counter; } kipc_atomic_long_t;

#define KIPC_ATOMIC_INIT(i)      { (i) }
#define KIPC_ATOMIC64_INIT(i)    { (i) }
#define KIPC_ATOMIC_LONG_INIT(i) { (i) }

/*
 * Orderings, as (suffix, C11 order, fence after the RMW).  A fully ordered
 * operation is a seq_cst builtin, which orders it against other atomics,
 * followed by kipc__rmw_full_fence(), which makes it order plain accesses on
 * both sides as the kernel promises (a no-op on x86, dmb ish on arm64).
 */
#define KIPC__FULL     __ATOMIC_SEQ_CST
#define KIPC__FULL_END kipc__rmw_full_fence()
#define KIPC__NO_END   ((void)0)

/* The arithmetic that wraps: done in the unsigned type, as the kernel does. */
#define KIPC__WRAP(T, UT, a, op, b) ((T)((UT)(a) op (UT)(b)))

/* Value-returning operations, generated once per ordering suffix. */
#define KIPC__ATOMIC_RETURN_OPS(pfx, T, UT, sfx, mo, end)                     \
KIPC_INLINE T kipc_##pfx##_fetch_add##sfx(T i, kipc_##pfx##_t *v)             \
{ T r = __atomic_fetch_add(&v->counter, i, mo); end; return r; }             \
KIPC_INLINE T kipc_##pfx##_fetch_sub##sfx(T i, kipc_##pfx##_t *v)             \
{ T r = __atomic_fetch_sub(&v->counter, i, mo); end; return r; }             \
KIPC_INLINE T kipc_##pfx##_fetch_inc##sfx(kipc_##pfx##_t *v)                  \
{ T r = __atomic_fetch_add(&v->counter, 1, mo); end; return r; }             \
KIPC_INLINE T kipc_##pfx##_fetch_dec##sfx(kipc_##pfx##_t *v)                  \
{ T r = __atomic_fetch_sub(&v->counter, 1, mo); end; return r; }             \
KIPC_INLINE T kipc_##pfx##_fetch_and##sfx(T i, kipc_##pfx##_t *v)             \
{ T r = __atomic_fetch_and(&v->counter, i, mo); end; return r; }             \
KIPC_INLINE T kipc_##pfx##_fetch_or##sfx(T i, kipc_##pfx##_t *v)              \
{ T r = __atomic_fetch_or(&v->counter, i, mo); end; return r; }              \
KIPC_INLINE T kipc_##pfx##_fetch_xor##sfx(T i, kipc_##pfx##_t *v)             \
{ T r = __atomic_fetch_xor(&v->counter, i, mo); end; return r; }             \
KIPC_INLINE T kipc_##pfx##_fetch_andnot##sfx(T i, kipc_##pfx##_t *v)          \
{ T r = __atomic_fetch_and(&v->counter, ~i, mo); end; return r; }            \
KIPC_INLINE T kipc_##pfx##_add_return##sfx(T i, kipc_##pfx##_t *v)            \
{ return KIPC__WRAP(T, UT, kipc_##pfx##_fetch_add##sfx(i, v), +, i); }       \
KIPC_INLINE T kipc_##pfx##_sub_return##sfx(T i, kipc_##pfx##_t *v)            \
{ return KIPC__WRAP(T, UT, kipc_##pfx##_fetch_sub##sfx(i, v), -, i); }       \
KIPC_INLINE T kipc_##pfx##_inc_return##sfx(kipc_##pfx##_t *v)                 \
{ return KIPC__WRAP(T, UT, kipc_##pfx##_fetch_inc##sfx(v), +, 1); }          \
KIPC_INLINE T kipc_##pfx##_dec_return##sfx(kipc_##pfx##_t *v)                 \
{ return KIPC__WRAP(T, UT, kipc_##pfx##_fetch_dec##sfx(v), -, 1); }          \
KIPC_INLINE bool kipc_##pfx##_add_negative##sfx(T i, kipc_##pfx##_t *v)       \
{ return kipc_##pfx##_add_return##sfx(i, v) < 0; }                           \
KIPC_INLINE T kipc_##pfx##_xchg##sfx(kipc_##pfx##_t *v, T n)                  \
{ T r = __atomic_exchange_n(&v->counter, n, mo); end; return r; }            \
/* A failed compare-exchange is unordered (relaxed), as in the kernel. */    \
KIPC_INLINE bool kipc_##pfx##_try_cmpxchg##sfx(kipc_##pfx##_t *v, T *old, T n)\
{                                                                             \
	bool ok = __atomic_compare_exchange_n(&v->counter, old, n, false, mo, \
					      __ATOMIC_RELAXED);              \
	if (ok)                                                               \
		end;                                                          \
	return ok;                                                            \
}                                                                             \
KIPC_INLINE T kipc_##pfx##_cmpxchg##sfx(kipc_##pfx##_t *v, T old, T n)        \
{ kipc_##pfx##_try_cmpxchg##sfx(v, &old, n); return old; }

/* Everything else, generated once per type. */
#define KIPC__ATOMIC_OPS(pfx, T, UT)                                          \
KIPC_INLINE T kipc_##pfx##_read(const kipc_##pfx##_t *v)                      \
{ return __atomic_load_n(&v->counter, __ATOMIC_RELAXED); }                   \
KIPC_INLINE T kipc_##pfx##_read_acquire(const kipc_##pfx##_t *v)              \
{ return __atomic_load_n(&v->counter, __ATOMIC_ACQUIRE); }                   \
KIPC_INLINE void kipc_##pfx##_set(kipc_##pfx##_t *v, T i)                     \
{ __atomic_store_n(&v->counter, i, __ATOMIC_RELAXED); }                      \
KIPC_INLINE void kipc_##pfx##_set_release(kipc_##pfx##_t *v, T i)             \
{ __atomic_store_n(&v->counter, i, __ATOMIC_RELEASE); }                      \
KIPC_INLINE void kipc_##pfx##_add(T i, kipc_##pfx##_t *v)                     \
{ __atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED); }                    \
KIPC_INLINE void kipc_##pfx##_sub(T i, kipc_##pfx##_t *v)                     \
{ __atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED); }                    \
KIPC_INLINE void kipc_##pfx##_inc(kipc_##pfx##_t *v)                          \
{ __atomic_fetch_add(&v->counter, 1, __ATOMIC_RELAXED); }                    \
KIPC_INLINE void kipc_##pfx##_dec(kipc_##pfx##_t *v)                          \
{ __atomic_fetch_sub(&v->counter, 1, __ATOMIC_RELAXED); }                    \
KIPC_INLINE void kipc_##pfx##_and(T i, kipc_##pfx##_t *v)                     \
{ __atomic_fetch_and(&v->counter, i, __ATOMIC_RELAXED); }                    \
KIPC_INLINE void kipc_##pfx##_or(T i, kipc_##pfx##_t *v)                      \
{ __atomic_fetch_or(&v->counter, i, __ATOMIC_RELAXED); }                     \
KIPC_INLINE void kipc_##pfx##_xor(T i, kipc_##pfx##_t *v)                     \
{ __atomic_fetch_xor(&v->counter, i, __ATOMIC_RELAXED); }                    \
KIPC_INLINE void kipc_##pfx##_andnot(T i, kipc_##pfx##_t *v)                  \
{ __atomic_fetch_and(&v->counter, ~i, __ATOMIC_RELAXED); }                   \
KIPC__ATOMIC_RETURN_OPS(pfx, T, UT, , KIPC__FULL, KIPC__FULL_END)            \
KIPC__ATOMIC_RETURN_OPS(pfx, T, UT, _relaxed, __ATOMIC_RELAXED, KIPC__NO_END)\
KIPC__ATOMIC_RETURN_OPS(pfx, T, UT, _acquire, __ATOMIC_ACQUIRE, KIPC__NO_END)\
KIPC__ATOMIC_RETURN_OPS(pfx, T, UT, _release, __ATOMIC_RELEASE, KIPC__NO_END)\
KIPC_INLINE bool kipc_##pfx##_sub_and_test(T i, kipc_##pfx##_t *v)            \
{ return kipc_##pfx##_sub_return(i, v) == 0; }                               \
KIPC_INLINE bool kipc_##pfx##_dec_and_test(kipc_##pfx##_t *v)                 \
{ return kipc_##pfx##_dec_return(v) == 0; }                                  \
KIPC_INLINE bool kipc_##pfx##_inc_and_test(kipc_##pfx##_t *v)                 \
{ return kipc_##pfx##_inc_return(v) == 0; }                                  \
/* The conditional operations: a compare-exchange loop that gives up. */    \
KIPC_INLINE T kipc_##pfx##_fetch_add_unless(kipc_##pfx##_t *v, T a, T u)      \
{                                                                             \
	T c = kipc_##pfx##_read(v);                                           \
	do {                                                                  \
		if (c == u)                                                   \
			break;                                                \
	} while (!kipc_##pfx##_try_cmpxchg(v, &c, KIPC__WRAP(T, UT, c, +, a)));\
	return c;                                                             \
}                                                                             \
KIPC_INLINE bool kipc_##pfx##_add_unless(kipc_##pfx##_t *v, T a, T u)         \
{ return kipc_##pfx##_fetch_add_unless(v, a, u) != u; }                      \
KIPC_INLINE bool kipc_##pfx##_inc_not_zero(kipc_##pfx##_t *v)                 \
{ return kipc_##pfx##_add_unless(v, 1, 0); }                                 \
KIPC_INLINE bool kipc_##pfx##_inc_unless_negative(kipc_##pfx##_t *v)          \
{                                                                             \
	T c = kipc_##pfx##_read(v);                                           \
	do {                                                                  \
		if (c < 0)                                                    \
			return false;                                         \
	} while (!kipc_##pfx##_try_cmpxchg(v, &c, KIPC__WRAP(T, UT, c, +, 1)));\
	return true;                                                          \
}                                                                             \
KIPC_INLINE bool kipc_##pfx##_dec_unless_positive(kipc_##pfx##_t *v)          \
{                                                                             \
	T c = kipc_##pfx##_read(v);                                           \
	do {                                                                  \
		if (c > 0)                                                    \
			return false;                                         \
	} while (!kipc_##pfx##_try_cmpxchg(v, &c, KIPC__WRAP(T, UT, c, -, 1)));\
	return true;                                                          \
}                                                                             \
KIPC_INLINE T kipc_##pfx##_dec_if_positive(kipc_##pfx##_t *v)                 \
{                                                                             \
	T c = kipc_##pfx##_read(v), d;                                        \
	do {                                                                  \
		d = KIPC__WRAP(T, UT, c, -, 1);                               \
		if (c <= 0)     /* not positive; MIN - 1 must not wrap */     \
			return d < 0 ? d : c;                                 \
	} while (!kipc_##pfx##_try_cmpxchg(v, &c, d));                        \
	return d;                                                             \
}

KIPC__ATOMIC_OPS(atomic, int, unsigned int)
KIPC__ATOMIC_OPS(atomic64, int64_t, uint64_t)
KIPC__ATOMIC_OPS(atomic_long, long, unsigned long)

/*
 * xchg()/cmpxchg() on any integer or pointer lvalue, through ptr.  The
 * unsuffixed forms are fully ordered when they store, like the atomic_t ones.
 */
#define KIPC__XCHG(ptr, n, mo, end) ({                                       \
	__typeof__(*(ptr)) kipc__r = __atomic_exchange_n((ptr), (n), mo);     \
	end;                                                                  \
	kipc__r; })
#define KIPC__TRY_CMPXCHG(ptr, oldp, n, mo, end) ({                          \
	bool kipc__ok = __atomic_compare_exchange_n((ptr), (oldp), (n), false, \
						    mo, __ATOMIC_RELAXED);    \
	if (kipc__ok)                                                         \
		end;                                                          \
	kipc__ok; })
#define KIPC__CMPXCHG(ptr, o, n, mo, end) ({                                 \
	__typeof__(*(ptr)) kipc__o = (o);                                     \
	KIPC__TRY_CMPXCHG(ptr, &kipc__o, n, mo, end);                         \
	kipc__o; })

#define kipc_xchg(p, n)                 KIPC__XCHG(p, n, KIPC__FULL, KIPC__FULL_END)
#define kipc_xchg_relaxed(p, n)         KIPC__XCHG(p, n, __ATOMIC_RELAXED, KIPC__NO_END)
#define kipc_xchg_acquire(p, n)         KIPC__XCHG(p, n, __ATOMIC_ACQUIRE, KIPC__NO_END)
#define kipc_xchg_release(p, n)         KIPC__XCHG(p, n, __ATOMIC_RELEASE, KIPC__NO_END)
#define kipc_cmpxchg(p, o, n)           KIPC__CMPXCHG(p, o, n, KIPC__FULL, KIPC__FULL_END)
#define kipc_cmpxchg_relaxed(p, o, n)   KIPC__CMPXCHG(p, o, n, __ATOMIC_RELAXED, KIPC__NO_END)
#define kipc_cmpxchg_acquire(p, o, n)   KIPC__CMPXCHG(p, o, n, __ATOMIC_ACQUIRE, KIPC__NO_END)
#define kipc_cmpxchg_release(p, o, n)   KIPC__CMPXCHG(p, o, n, __ATOMIC_RELEASE, KIPC__NO_END)
#define kipc_try_cmpxchg(p, op, n)          KIPC__TRY_CMPXCHG(p, op, n, KIPC__FULL, KIPC__FULL_END)
#define kipc_try_cmpxchg_relaxed(p, op, n)  KIPC__TRY_CMPXCHG(p, op, n, __ATOMIC_RELAXED, KIPC__NO_END)
#define kipc_try_cmpxchg_acquire(p, op, n)  KIPC__TRY_CMPXCHG(p, op, n, __ATOMIC_ACQUIRE, KIPC__NO_END)
#define kipc_try_cmpxchg_release(p, op, n)  KIPC__TRY_CMPXCHG(p, op, n, __ATOMIC_RELEASE, KIPC__NO_END)

#endif /* KIPC_ATOMIC_H */
