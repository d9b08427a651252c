/* SPDX-License-Identifier: MIT */
/*
 * A process's open System V objects, by id, so that msgsnd(), msgrcv() and
 * semop() cost no system call to find their object: the first use of an id
 * opens, validates and maps the whole file; later uses find the mapping.
 * An id is never reused at once (sysv.h), and a removed object says so in
 * its header's state, which every use reads: a cached mapping of a removed
 * object answers EIDRM and is dropped.
 *
 *   kipc__sysv_hold(type, id, &ref)   0 and a held reference, or -errno
 *                                     (EINVAL: no such id, or removed; EACCES)
 *   kipc__sysv_removed(ref)           the object was removed (IPC_RMID)
 *   kipc__sysv_release(ref)           done with it
 *   kipc__sysv_forget(ref)            done, and drop the cached mapping
 *                                     (the object was removed)
 */
#ifndef KIPC_IPC_SYSV_CACHE_H
#define KIPC_IPC_SYSV_CACHE_H

#include "ipc/object.h"

struct kipc__sysv_ref {
	struct kipc__sysv_ref *next;
	uint32_t type;
	int id;
	int refs;			/* under the cache lock */
	bool dead;			/* forgotten: unmap at the last release */
	struct kipc__obj_geom geom;	/* checked copy */
	char *base;			/* the whole file */
	struct kipc__obj_hdr *hdr;
	void *meta;
	char *data;
	uint32_t fd_uid;		/* the file's owner when opened */
};

extern __thread struct kipc__sysv_ref *kipc__sysv_last __attribute__((tls_model("initial-exec")));

int kipc__sysv_hold_slow(uint32_t type, int id, struct kipc__sysv_ref **ref);
void kipc__sysv_put(struct kipc__sysv_ref *ref);
void kipc__sysv_forget(struct kipc__sysv_ref *ref);

static inline bool kipc__sysv_removed(const struct kipc__sysv_ref *ref)
{
	return __atomic_load_n(&ref->hdr->state, __ATOMIC_ACQUIRE) == KIPC__OBJ_REMOVED;
}

/*
 * Inline for the thread's last entry, which it holds a reference to of its
 * own (an uncontended semop() is a few dozen instructions in all; a call
 * and a lookup here were a tenth of them).  Relaxed load of dead: it is
 * only ever set, and a stale false is caught by the state.
 */
static inline int kipc__sysv_hold(uint32_t type, int id, struct kipc__sysv_ref **ref)
{
	struct kipc__sysv_ref *r = kipc__sysv_last;

	if (r && r->type == type && r->id == id && !__atomic_load_n(&r->dead, __ATOMIC_RELAXED) &&
	    !kipc__sysv_removed(r)) {
		*ref = r;
		return 0;
	}
	return kipc__sysv_hold_slow(type, id, ref);
}

static inline void kipc__sysv_release(struct kipc__sysv_ref *ref)
{
	/* The thread's own entry: its reference stays with the thread. */
	if (ref != kipc__sysv_last)
		kipc__sysv_put(ref);
}

#endif
