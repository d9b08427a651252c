/* SPDX-License-Identifier: MIT */
/*
 * The per-process table of kipc descriptors (SPEC section 1): pipes,
 * FIFOs, socket pairs and message queues are small ints, like kernel file
 * descriptors, naming a struct kipc__file, the open file description.
 *
 *   kipc__fd_install(f)     the lowest free descriptor now naming f (which
 *                           arrives with one reference, now the table's);
 *                           -EMFILE when KIPC__FD_MAX are open
 *   kipc__fd_get(fd, ops)   f with a reference taken, if fd is open and
 *                           (ops non-NULL) of that type; else NULL with
 *                           errno EBADF.  Lock-free: an RCU lookup and an
 *                           increment.
 *   kipc__fd_lookup_rcu(fd, ops)
 *                           the same without a reference, for a caller
 *                           inside kipc_rcu_read_lock() that will not
 *                           block before kipc_rcu_read_unlock(): the
 *                           description stays valid (maybe closed) until
 *                           then; NULL (errno untouched) if not open
 *   kipc__fd_put(f)         drop a reference; the last one calls
 *                           ops->release(f), and f is freed a grace
 *                           period later (lookups may still be reading it)
 *   kipc_close(fd)          public: 0, or -1 with EBADF
 *
 * A struct kipc__file is the first member of a malloc()ed object.  fork()
 * copies the table, and ops->fork_child(f) runs in the child once per open
 * description, so that a type can count the child as a holder (a pipe's
 * readers and writers).  ops->release runs outside every table lock.
 */
#ifndef KIPC_IPC_FDTABLE_H
#define KIPC_IPC_FDTABLE_H

#include <kipc/atomic.h>
#include <kipc/rcu.h>

#define KIPC__FD_MAX 65536

struct kipc__file;

struct kipc__file_ops {
	const char *name;
	void (*release)(struct kipc__file *f);
	void (*fork_child)(struct kipc__file *f);
};

struct kipc__file {
	const struct kipc__file_ops *ops;
	kipc_atomic_t refs;
	kipc_atomic_t flags;	/* O_ACCMODE, O_NONBLOCK: F_GETFL/F_SETFL */
	struct kipc_rcu_head rcu;
};

int kipc__fd_install(struct kipc__file *f);
struct kipc__file *kipc__fd_get(int fd, const struct kipc__file_ops *ops);
struct kipc__file *kipc__fd_lookup_rcu(int fd, const struct kipc__file_ops *ops);
void kipc__fd_put(struct kipc__file *f);

#endif
