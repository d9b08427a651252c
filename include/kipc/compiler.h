/* SPDX-License-Identifier: MIT */
/*
 * kipc/compiler.h - the few compiler helpers every kipc header shares.
 *
 * KIPC_INLINE marks header fast paths; kipc_likely()/kipc_unlikely() are the
 * kernel's likely()/unlikely(); kipc_container_of() is container_of().
 */
#ifndef KIPC_COMPILER_H
#define KIPC_COMPILER_H

#include <stddef.h>

#define KIPC_INLINE static inline __attribute__((__always_inline__))

#define kipc_likely(x)   __builtin_expect(!!(x), 1)
#define kipc_unlikely(x) __builtin_expect(!!(x), 0)

/* container_of(ptr, type, member): the structure that embeds *ptr. */
#define kipc_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Only the ThreadSanitizer build needs to be told about our own locks. */
#if defined(__SANITIZE_THREAD__)
#define KIPC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KIPC_TSAN 1
#endif
#endif

#endif /* KIPC_COMPILER_H */
