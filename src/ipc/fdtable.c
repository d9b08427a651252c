// SPDX-License-Identifier: MIT
/*
 * The descriptor table; see fdtable.h.
 *
 * Readers never lock: the table is an RCU-published array of pointers,
 * a lookup loads the slot inside an RCU read section and takes a reference
 * with inc_not_zero (a description whose last reference is being dropped is
 * treated as closed).  Writers (install, close, growth, fork) serialise on
 * one mutex.  A replaced array and a released description are freed a
 * grace period later, when no lookup can still be reading them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <kipc/ipc.h>
#include "ipc/fdtable.h"

struct fdtable {
	struct kipc_rcu_head rcu;
	unsigned int size;
	struct kipc__file *slot[];
};

#define FD_INITIAL 64

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fdtable *table;

static void free_rcu_table(struct kipc_rcu_head *head)
{
	free(kipc_container_of(head, struct fdtable, rcu));
}

static void free_rcu_file(struct kipc_rcu_head *head)
{
	free(kipc_container_of(head, struct kipc__file, rcu));
}

/*
 * Lock held: a table with room for fd.  A replaced array goes to *old, for
 * the caller to free after unlocking: call_rcu() takes RCU's own lock,
 * which fork() takes before ours, so it must not be called under ours.
 */
static struct fdtable *room_for(unsigned int fd, struct fdtable **retired)
{
	struct fdtable *old = table, *t;
	unsigned int size = old ? old->size : FD_INITIAL;

	if (old && fd < old->size)
		return old;
	while (size <= fd)
		size *= 2;
	t = calloc(1, sizeof(*t) + size * sizeof(t->slot[0]));
	if (!t)
		return NULL;
	t->size = size;
	if (old)
		memcpy(t->slot, old->slot, old->size * sizeof(t->slot[0]));
	/* Release: a lookup that sees the new array sees its slots. */
	kipc_rcu_assign_pointer(table, t);
	*retired = old;
	return t;
}

int kipc__fd_install(struct kipc__file *f)
{
	struct fdtable *t, *retired = NULL;
	unsigned int fd = 0;

	pthread_mutex_lock(&table_lock);
	for (t = table; t && fd < t->size && t->slot[fd]; fd++)
		;
	if (fd >= KIPC__FD_MAX) {
		pthread_mutex_unlock(&table_lock);
		return -EMFILE;
	}
	t = room_for(fd, &retired);
	if (!t) {
		pthread_mutex_unlock(&table_lock);
		return -ENOMEM;
	}
	/* Release: a lookup that finds f sees it initialised. */
	__atomic_store_n(&t->slot[fd], f, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
	if (retired)
		kipc_call_rcu(&retired->rcu, free_rcu_table);
	return (int)fd;
}

struct kipc__file *kipc__fd_lookup_rcu(int fd, const struct kipc__file_ops *ops)
{
	struct fdtable *t = kipc_rcu_dereference(table);
	struct kipc__file *f = NULL;

	if (fd >= 0 && t && (unsigned int)fd < t->size) {
		/* Acquire: pairs with the release in install. */
		f = __atomic_load_n(&t->slot[fd], __ATOMIC_ACQUIRE);
		if (f && ops && f->ops != ops)
			f = NULL;
	}
	return f;
}

struct kipc__file *kipc__fd_get(int fd, const struct kipc__file_ops *ops)
{
	struct kipc__file *f;

	kipc_rcu_read_lock();
	f = kipc__fd_lookup_rcu(fd, ops);
	if (f && !kipc_atomic_inc_not_zero(&f->refs))
		f = NULL;
	kipc_rcu_read_unlock();
	if (!f)
		errno = EBADF;
	return f;
}

void kipc__fd_put(struct kipc__file *f)
{
	if (kipc_atomic_dec_and_test(&f->refs)) {
		f->ops->release(f);
		kipc_call_rcu(&f->rcu, free_rcu_file);
	}
}

int kipc_close(int fd)
{
	struct kipc__file *f = NULL;
	struct fdtable *t;

	pthread_mutex_lock(&table_lock);
	t = table;
	if (fd >= 0 && t && (unsigned int)fd < t->size) {
		f = t->slot[fd];
		__atomic_store_n(&t->slot[fd], NULL, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&table_lock);
	if (!f) {
		errno = EBADF;
		return -1;
	}
	kipc__fd_put(f);
	return 0;
}

/*
 * fork(): the child's table is the parent's, frozen under the lock.  The
 * child's inherited references are the table's own, so only the types
 * learn of the new holder.  Nothing that takes another lock (call_rcu,
 * release) runs under this one, so the order of atfork handlers, which is
 * the link order, cannot deadlock.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&table_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&table_lock);
}

static void fork_child(void)
{
	struct fdtable *t = table;

	for (unsigned int fd = 0; t && fd < t->size; fd++) {
		struct kipc__file *f = t->slot[fd];

		if (f && f->ops->fork_child)
			f->ops->fork_child(f);
	}
	pthread_mutex_unlock(&table_lock);
}

__attribute__((constructor)) static void fdtable_setup(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
