/* SPDX-License-Identifier: MIT */
/*
 * kipc/barrier.h - memory barriers, as in the kernel's asm/barrier.h.
 *
 *   kipc_barrier()               compiler barrier: no instruction, no reordering
 *                                by the compiler across it
 *   kipc_mb() kipc_rmb() kipc_wmb()
 *                                mandatory barriers: order memory accesses
 *                                against devices as well as other CPUs
 *                                (arm64 "dsb", x86 mfence/lfence/sfence)
 *   kipc_smp_mb() kipc_smp_rmb() kipc_smp_wmb()
 *                                CPU-to-CPU ordering: full, load-load,
 *                                store-store (arm64 "dmb ish*")
 *   kipc_smp_mb__before_atomic() kipc_smp_mb__after_atomic()
 *                                upgrade a non-value-returning atomic
 *                                (kipc_atomic_inc, kipc_set_bit, ...) to a full
 *                                barrier on the side named
 *   kipc_smp_load_acquire(p)     *p, ordered before every later access
 *   kipc_smp_store_release(p, v) *p = v, ordered after every earlier access
 *   kipc_smp_store_mb(var, v)    var = v; then kipc_smp_mb()
 *   KIPC_READ_ONCE(x) KIPC_WRITE_ONCE(x, v)
 *                                one untorn access the compiler cannot fuse,
 *                                repeat or invent; no CPU ordering
 *
 * READ_ONCE/WRITE_ONCE take scalars (integers and pointers), which is all the
 * kernel allows in new code.  They are relaxed C11 atomics rather than
 * volatile accesses so that ThreadSanitizer sees them as intended races.
 */
#ifndef KIPC_BARRIER_H
#define KIPC_BARRIER_H

#include <kipc/compiler.h>

#define kipc_barrier() __asm__ __volatile__("" : : : "memory")

#if defined(__x86_64__)
/*
 * x86-64 is TSO: loads are not reordered with loads, stores not with stores,
 * so smp_rmb/smp_wmb need only stop the compiler.  The one reordering TSO
 * allows, a later load passing an earlier store, needs a locked instruction;
 * a locked add of zero to the stack (below the 128-byte red zone, so it
 * never touches data just written) is cheaper than mfence and (unlike mfence)
 * is all that ordering cacheable memory requires.  Locked RMW instructions are
 * themselves full barriers, hence the empty __before/__after_atomic.
 */
#define kipc_mb()  __asm__ __volatile__("mfence" : : : "memory")
#define kipc_rmb() __asm__ __volatile__("lfence" : : : "memory")
#define kipc_wmb() __asm__ __volatile__("sfence" : : : "memory")
#define kipc_smp_mb() \
	__asm__ __volatile__("lock; addl $0,-132(%%rsp)" : : : "memory", "cc")
#define kipc_smp_rmb() kipc_barrier()
#define kipc_smp_wmb() kipc_barrier()
#define kipc_smp_mb__before_atomic() kipc_barrier()
#define kipc_smp_mb__after_atomic()  kipc_barrier()
/* Value-returning RMW builtins (lock-prefixed) are already full barriers. */
#define kipc__rmw_full_fence() kipc_barrier()

#elif defined(__aarch64__)
/*
 * arm64 is weakly ordered.  dsb waits for completion (devices included), dmb
 * only orders, and the "ish" domain (inner shareable: all CPUs) is what
 * CPU-to-CPU ordering needs; "ld"/"st" restrict the barrier to loads/stores.
 * Relaxed and even seq_cst load-exclusive/store-exclusive loops do not order a
 * store before the RMW against a load after it, so a fully ordered RMW ends
 * with dmb ish, as the kernel's LL/SC atomics do.
 */
#define kipc_mb()  __asm__ __volatile__("dsb sy" : : : "memory")
#define kipc_rmb() __asm__ __volatile__("dsb ld" : : : "memory")
#define kipc_wmb() __asm__ __volatile__("dsb st" : : : "memory")
#define kipc_smp_mb()  __asm__ __volatile__("dmb ish" : : : "memory")
#define kipc_smp_rmb() __asm__ __volatile__("dmb ishld" : : : "memory")
#define kipc_smp_wmb() __asm__ __volatile__("dmb ishst" : : : "memory")
#define kipc_smp_mb__before_atomic() kipc_smp_mb()
#define kipc_smp_mb__after_atomic()  kipc_smp_mb()
#define kipc__rmw_full_fence() kipc_smp_mb()

#else
/*
 * Generic C11 fallback: a seq_cst fence is a full barrier; an acquire fence
 * orders earlier loads before everything later (a superset of rmb) and a
 * release fence orders everything earlier before later stores (a superset
 * of wmb).  C11 has no notion of device ordering, so mb() == smp_mb().
 */
#define kipc_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define kipc_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define kipc_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define kipc_smp_mb()  kipc_mb()
#define kipc_smp_rmb() kipc_rmb()
#define kipc_smp_wmb() kipc_wmb()
#define kipc_smp_mb__before_atomic() kipc_smp_mb()
#define kipc_smp_mb__after_atomic()  kipc_smp_mb()
#define kipc__rmw_full_fence() kipc_smp_mb()
#endif

#define KIPC_READ_ONCE(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define KIPC_WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#define kipc_smp_load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define kipc_smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#define kipc_smp_store_mb(var, v) \
	do { KIPC_WRITE_ONCE(var, v); kipc_smp_mb(); } while (0)

#endif /* KIPC_BARRIER_H */
