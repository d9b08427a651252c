/* SPDX-License-Identifier: MIT */
/*
 * The System V registry: keys and ids of shared memory segments, message
 * queues and semaphore sets, in the namespace's sysv/ directory.
 *
 *   <type>.<id>          the object file, named by its id
 *   <type>.key.<key>     a second link to it, while it has a key
 *   .ids                 id counters (a hint: links decide uniqueness)
 *
 * Creation builds the whole object unnamed, links it under its id
 * (CREATING), then under its key, and marks it LIVE.  link() is atomic and
 * fails on an existing name, so concurrent creators of one key agree on a
 * single winner; a creator killed between the two links leaves an object
 * nobody can reach by key, which any later lookup by id discards
 * (CREATING with a dead creator and no key link of its own).  Ids come
 * from a counter that only grows, so an id is not reused until 2^31 more
 * objects have been made, as the kernel's sequence numbers intend.
 *
 *   kipc__sysv_get(type, key, flags, geom, init, arg, obj, buf)
 *       msgget/semget/shmget's lookup-or-create: -ENOENT without
 *       IPC_CREAT, -EEXIST with IPC_CREAT|IPC_EXCL, -EACCES when flags ask
 *       for write access the caller lacks; init(obj, arg) fills a new
 *       object's meta before it is visible; geom NULL: never create.
 *       An existing object is only peeked at (into buf), a new one mapped.
 *   kipc__sysv_open_id(type, id, obj)
 *       the object with that id; -EINVAL if there is none (or it is an
 *       abandoned creation, which is then removed)
 *   kipc__sysv_owner_ok(obj)
 *       the caller may IPC_SET / IPC_RMID it (owner, creator or root)
 *   kipc__sysv_owns_file(type, id)
 *       the caller owns the id's file (or is root): EACCES, else EPERM
 *   kipc__sysv_open_owned(type, id, obj)
 *       open for IPC_SET / IPC_RMID: -EPERM unless the caller may
 *   kipc__sysv_unpublish(obj)
 *       under the lock: state REMOVED, key link gone (a new object may take
 *       the key), the id kept for those still attached
 *   kipc__sysv_destroy(obj)
 *       unlink the id name too, if it is still this object's
 *   kipc__sysv_set_perm(obj, uid, gid, mode)
 *       IPC_SET's common part: owner and mode of the file and the header
 */
#ifndef KIPC_IPC_SYSV_H
#define KIPC_IPC_SYSV_H

#include <sys/ipc.h>
#include <time.h>
#include "ipc/object.h"

int kipc__sysv_get(uint32_t type, key_t key, int flags, const struct kipc__obj_geom *geom,
		   void (*init)(struct kipc__obj *obj, void *arg), void *arg,
		   struct kipc__obj *obj, union kipc__obj_peek *buf);
int kipc__sysv_open_id(uint32_t type, int id, struct kipc__obj *obj);
bool kipc__sysv_owner_ok(const struct kipc__obj *obj);
bool kipc__sysv_owns_file(uint32_t type, int id);
int kipc__sysv_open_owned(uint32_t type, int id, struct kipc__obj *obj);
void kipc__sysv_unpublish(struct kipc__obj *obj);
void kipc__sysv_destroy(struct kipc__obj *obj);
int kipc__sysv_set_perm(struct kipc__obj *obj, uid_t uid, gid_t gid, mode_t mode);

/*
 * An absolute CLOCK_MONOTONIC deadline timeout from now (at most a
 * century), or a year away if timeout is NULL: System V waits are timed even when they need no
 * limit, because only a timed futex wait returns EINTR for handlers with
 * SA_RESTART, and msgsnd(), msgrcv() and semop() are never restarted.
 */
void kipc__sysv_deadline(struct timespec *deadline, const struct timespec *timeout);

/* File name stems, by object type: "shm", "msg", "sem". */
const char *kipc__sysv_stem(uint32_t type);

#endif
