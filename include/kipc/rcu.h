/* SPDX-License-Identifier: MIT */
/*
 * kipc/rcu.h - read-copy-update for the threads of one process.
 *
 * Readers:
 *   kipc_rcu_read_lock() / kipc_rcu_read_unlock()   nestable; wait-free, no
 *                                  atomic read-modify-write, no fence
 *   p = kipc_rcu_dereference(gp)   load a published pointer inside a section
 * Updaters (exclude each other with a lock of their own):
 *   kipc_rcu_assign_pointer(gp, p) publish p: its initialisation first
 *   kipc_rcu_replace_pointer(gp, p, cond)   publish p, return the old one
 *   kipc_rcu_access_pointer(gp)    the value, not to be dereferenced
 *   KIPC_RCU_INIT_POINTER(gp, p)   publish without ordering (NULL, or p
 *                                  not yet visible to readers)
 *   kipc_synchronize_rcu()         wait until every reader that might hold
 *                                  an old pointer has left its section
 *   kipc_call_rcu(head, func)      func(head) after a grace period, on a
 *                                  library thread started on first use
 *   kipc_rcu_barrier()             wait for every callback queued so far
 *   kipc_kfree_rcu(ptr, field)     free(ptr) after a grace period (field is
 *                                  its struct kipc_rcu_head)
 *   c = kipc_get_state_synchronize_rcu();  kipc_poll_state_synchronize_rcu(c)
 *                                  true once a full grace period has passed
 *                                  since c was taken
 *   kipc_rcu_register_thread() / kipc_rcu_unregister_thread()
 *                                  optional: a thread's first read lock
 *                                  registers it and its exit unregisters it
 *
 * How (docs/rcu.md): each thread has a reader record in thread-local storage
 * holding the grace-period number it saw at its last outermost entry, and
 * a bit set while it is inside a section.  A grace period increments the
 * number and waits until every reader shows an entry with the new number
 * (readers that keep reading do so within nanoseconds); if one does not, it
 * makes every CPU running one of our threads execute a full barrier
 * (membarrier(2) private expedited) and waits until no reader is inside a
 * section entered with an older number.  The barrier on the update side is
 * what lets the read side do without one; where membarrier is unavailable,
 * readers execute a full barrier instead.  The grace-period number is 64
 * bits and never wraps, so a single pass is enough where 32-bit designs
 * need two.
 *
 * The read-side fast path is inline, using the thread-local record
 * (initial-exec TLS: programs linked against libkipc at start-up, not
 * dlopen()ed into).  Read sections must not be entered from a signal handler
 * in a thread that has never entered one before (registration takes a lock).
 * Scope: the threads of one process.
 */
#ifndef KIPC_RCU_H
#define KIPC_RCU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <kipc/barrier.h>
#include <kipc/compiler.h>

struct kipc_rcu_head {
	struct kipc_rcu_head *next;
	void (*func)(struct kipc_rcu_head *head);
};

typedef void (*kipc_rcu_callback_t)(struct kipc_rcu_head *head);

/* A thread's reader record; private to the library but for the inline path. */
struct kipc_rcu_reader {
	/*
	 * (grace period seen at the last outermost entry) << 1 | in a
	 * section; 0 before the first.
	 */
	uint64_t ctr;
	unsigned long nesting;
	bool registered;
	struct kipc_rcu_reader *next, *prev;	/* the registry */
};

extern __thread struct kipc_rcu_reader kipc_rcu_reader_self
	__attribute__((tls_model("initial-exec")));
extern uint64_t kipc_rcu_gp_seq;
extern bool kipc_rcu_reader_fence;

void kipc_rcu_register_thread(void);
void kipc_rcu_unregister_thread(void);
void kipc_synchronize_rcu(void);
void kipc_call_rcu(struct kipc_rcu_head *head, kipc_rcu_callback_t func);
void kipc_rcu_barrier(void);
unsigned long kipc_get_state_synchronize_rcu(void);
bool kipc_poll_state_synchronize_rcu(unsigned long cookie);

/*
 * The record is named directly, not through a pointer: GCC's UBSan null
 * check on "&tls_var" branches on the flags of an "add x@gottpoff(%rip)"
 * that the linker relaxes to a flag-less "lea", a false report.
 */
KIPC_INLINE void kipc_rcu_read_lock(void)
{
	unsigned long n;

	if (kipc_unlikely(!kipc_rcu_reader_self.registered))
		kipc_rcu_register_thread();
	n = kipc_rcu_reader_self.nesting;
	kipc_rcu_reader_self.nesting = n + 1;
	/*
	 * Nesting first (a compiler barrier, for signal handlers): a handler
	 * that interrupts from here on nests, and if it finds ctr not yet
	 * marked (it came between these two steps) it marks ctr itself; the
	 * entry it interrupted then stores its own, older number, which only
	 * makes grace periods wait a little more.
	 */
	kipc_barrier();
	if (n == 0 || kipc_unlikely(!(kipc_rcu_reader_self.ctr & 1))) {
		/*
		 * The store of ctr must be visible before the section's loads.
		 * Nothing orders them here: a grace period either sees this
		 * entry's new number, or runs membarrier(), a full barrier on
		 * this CPU, so that it sees ctr or our loads come after its
		 * updates.  Without membarrier, fence.
		 * The load of gp_seq is an acquire (a plain mov on x86, ldar
		 * on arm64; no fence): a reader that sees a grace period's new
		 * number is not waited for by it, so its loads must not be
		 * satisfied before that load, when they could still return
		 * what the updater removed before starting the grace period.
		 * The store is a release (a plain mov on x86, stlr on arm64):
		 * a grace period that sees the new number also knows that this
		 * thread's earlier sections are over, in every memory model
		 * (C++20's release sequences no longer rely on the unlock's
		 * release store reaching later stores of the same thread).
		 */
		__atomic_store_n(&kipc_rcu_reader_self.ctr,
				 __atomic_load_n(&kipc_rcu_gp_seq, __ATOMIC_ACQUIRE) << 1 | 1,
				 __ATOMIC_RELEASE);
		if (kipc_unlikely(KIPC_READ_ONCE(kipc_rcu_reader_fence)))
			kipc_smp_mb();
		kipc_barrier();
	}
}

KIPC_INLINE void kipc_rcu_read_unlock(void)
{
	unsigned long n = kipc_rcu_reader_self.nesting - 1;

	kipc_rcu_reader_self.nesting = n;
	/*
	 * Nesting first, as in read_lock: a handler that interrupts after it
	 * enters and leaves as an outermost section, and the stores below and
	 * its own both leave the in-section bit clear.
	 * Release: the section's loads complete before a grace period can see
	 * the in-section bit clear and let the updater free what they read
	 * (free on x86, an stlr on arm64; not a full fence).  The number stays:
	 * it tells a grace period which one this thread saw last.
	 */
	kipc_barrier();
	if (n == 0)
		__atomic_store_n(&kipc_rcu_reader_self.ctr,
				 kipc_rcu_reader_self.ctr & ~(uint64_t)1, __ATOMIC_RELEASE);
}

/*
 * Publication: a release store, so that the pointee's initialisation is
 * visible before the pointer.  Reading: the address dependency orders the
 * pointee's loads after the pointer's on every CPU Linux runs on, so a
 * relaxed load suffices (the kernel's rcu_dereference); ThreadSanitizer does
 * not know dependencies, so its build uses acquire.
 */
#ifdef KIPC_TSAN
#define KIPC__RCU_DEREF_ORDER __ATOMIC_ACQUIRE
#else
#define KIPC__RCU_DEREF_ORDER __ATOMIC_RELAXED
#endif

#define kipc_rcu_dereference(p) __atomic_load_n(&(p), KIPC__RCU_DEREF_ORDER)
#define kipc_rcu_dereference_protected(p, c) KIPC_READ_ONCE(p)
#define kipc_rcu_access_pointer(p) KIPC_READ_ONCE(p)
#define kipc_rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define KIPC_RCU_INIT_POINTER(p, v) KIPC_WRITE_ONCE(p, v)
#define kipc_rcu_replace_pointer(p, v, c) ({                                 \
	__typeof__(p) kipc__old = kipc_rcu_dereference_protected(p, c);       \
	kipc_rcu_assign_pointer(p, v);                                         \
	kipc__old; })

/*
 * kfree_rcu: as in the kernel, the callback slot carries the offset of the
 * rcu_head in its object (offsets below 4096 are never code addresses), and
 * the callback thread frees the object.
 */
#define KIPC__RCU_IS_OFFSET(f) ((uintptr_t)(f) < 4096)
#define kipc_kfree_rcu(ptr, field)                                             \
	kipc_call_rcu(&(ptr)->field,                                           \
		      (kipc_rcu_callback_t)(uintptr_t)offsetof(__typeof__(*(ptr)), field))

#endif /* KIPC_RCU_H */
