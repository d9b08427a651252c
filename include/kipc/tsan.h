/* SPDX-License-Identifier: MIT */
/*
 * kipc/tsan.h - telling ThreadSanitizer what kipc's locks are.
 *
 * TSan understands pthread locks but not a lock built from atomics and
 * futexes: it would see the atomics (which never race) and miss the
 * happens-before edge from unlock to the next lock, then report the data the
 * lock protects as racing.  These macros wrap each lock operation in the
 * __tsan_mutex_* annotations, which also make TSan ignore the lock's own
 * accesses.  In any other build they compile to nothing.
 */
#ifndef KIPC_TSAN_H
#define KIPC_TSAN_H

#include <kipc/compiler.h>

#ifdef KIPC_TSAN
#include <sanitizer/tsan_interface.h>
#define KIPC__TSAN_READ          __tsan_mutex_read_lock
#define KIPC__TSAN_TRY           __tsan_mutex_try_lock
#define KIPC__TSAN_TRY_FAILED    __tsan_mutex_try_lock_failed
#define kipc__tsan_create(m, f)        __tsan_mutex_create((void *)(m), (f))
#define kipc__tsan_destroy(m, f)       __tsan_mutex_destroy((void *)(m), (f))
#define kipc__tsan_pre_lock(m, f)      __tsan_mutex_pre_lock((void *)(m), (f))
#define kipc__tsan_post_lock(m, f)     __tsan_mutex_post_lock((void *)(m), (f), 0)
#define kipc__tsan_pre_unlock(m, f)    __tsan_mutex_pre_unlock((void *)(m), (f))
#define kipc__tsan_post_unlock(m, f)   __tsan_mutex_post_unlock((void *)(m), (f))
#else
#define KIPC__TSAN_READ          0u
#define KIPC__TSAN_TRY           0u
#define KIPC__TSAN_TRY_FAILED    0u
#define kipc__tsan_create(m, f)        ((void)(m), (void)(f))
#define kipc__tsan_destroy(m, f)       ((void)(m), (void)(f))
#define kipc__tsan_pre_lock(m, f)      ((void)(m), (void)(f))
#define kipc__tsan_post_lock(m, f)     ((void)(m), (void)(f))
#define kipc__tsan_pre_unlock(m, f)    ((void)(m), (void)(f))
#define kipc__tsan_post_unlock(m, f)   ((void)(m), (void)(f))
#endif

#endif /* KIPC_TSAN_H */
