/* SPDX-License-Identifier: MIT */
/*
 * Object files: every kipc IPC object but a POSIX shared memory segment
 * (which is the caller's own bytes) is a file in the namespace laid out as
 *
 *   [0, hdr_size)            struct kipc__obj_hdr, below
 *   [hdr_size, meta_size)    the type's bookkeeping (its "meta")
 *   [data_off, file_size)    the type's data area, page-aligned
 *
 * Any process that can open the file can write it, so nothing read from it
 * is trusted: kipc__obj_check() validates the header against the file's
 * real size before anything else is touched, and the geometry it returns
 * is a private copy, never read from the shared header again.  Files are
 * fully allocated (fallocate) before they are published, so a full tmpfs
 * gives ENOSPC at creation and never SIGBUS later.
 *
 *   kipc__obj_check(buf, len, type, geom)
 *       0 if the len bytes at buf are a valid file of that type (0: any)
 *       of exactly len bytes, with geom filled; -EBADMSG if they are not
 *       a kipc object of this layout version (foreign, truncated,
 *       corrupted), -EINVAL if they are a valid object of another type
 *   kipc__obj_check_hdr(hdr, file_size, type, geom)
 *       the header part of that, on a private copy of the header
 *   kipc__obj_create(kind, geom, mode, obj)
 *       make an unnamed, initialised file (creator, times, state CREATING)
 *       and map its meta; the caller fills its meta, then publishes it
 *       under one or more names with kipc__obj_link().  kind
 *       KIPC__NS_NKINDS makes an anonymous object (memfd), never named.
 *   kipc__obj_link(obj, kind, leaf)
 *       give the file a name, atomically: -EEXIST if the name is taken
 *   kipc__obj_open(kind, leaf, type, obj)
 *       open by name (read-write, else read-only: obj->writable),
 *       validate, map the meta
 *   kipc__obj_peek(kind, leaf, type, obj, buf)
 *       the same checks, but the header and the first bytes of the meta
 *       are read into buf and nothing stays open or mapped: for lookups
 *   kipc__obj_close(obj)
 *       unmap and close
 *   kipc__obj_lock(obj) / kipc__obj_unlock(obj)
 *       the header's robust process-shared mutex, guarding the mutable
 *       fields; a dead holder's lock is taken over (its changes are single
 *       stores, so there is nothing to repair); -EBADMSG if the lock word
 *       is not a mutex any more
 */
#ifndef KIPC_IPC_OBJECT_H
#define KIPC_IPC_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <kipc/mutex.h>
#include "ipc/namespace.h"

#define KIPC__OBJ_MAGIC		"kipc-obj"	/* 8 bytes, no terminator */
#define KIPC__OBJ_VERSION	2

enum kipc__obj_type {
	KIPC__OBJ_SYSV_SHM = 1,
	KIPC__OBJ_MQ,
	KIPC__OBJ_FIFO,
	KIPC__OBJ_SYSV_MSG,
	KIPC__OBJ_SYSV_SEM,
	KIPC__OBJ_NTYPES
};

enum kipc__obj_state {
	KIPC__OBJ_CREATING = 0,	/* named by id only; its creator may die */
	KIPC__OBJ_LIVE,		/* published under every name it has */
	KIPC__OBJ_REMOVED,	/* IPC_RMID'd, destroyed at the last detach */
};

struct kipc__obj_hdr {
	char magic[8];
	uint32_t type;		/* enum kipc__obj_type */
	uint32_t version;	/* KIPC__OBJ_VERSION */
	uint32_t hdr_size;	/* sizeof(struct kipc__obj_hdr) */
	uint32_t reserved0;
	uint64_t file_size;	/* the file's exact size */
	uint64_t meta_size;	/* header + the type's bookkeeping */
	uint64_t data_off;	/* the type's data area, page-aligned ... */
	uint64_t data_size;	/* ... ending at or before file_size */
	int32_t key;		/* System V key, or IPC_PRIVATE */
	int32_t id;		/* System V id, or -1 */
	uint32_t cpid;		/* creator: process ... */
	uint32_t cuid;		/* ... effective uid and gid ... */
	uint32_t cgid;
	uint32_t reserved1;
	uint64_t cstart;	/* ... and start time (liveness) */
	int64_t otime;		/* created, seconds since the epoch */

	/* Mutable, under lock (state is also read without it). */
	uint32_t state;		/* enum kipc__obj_state */
	uint32_t reserved2;
	struct kipc_mutex lock;
	int64_t ctime;		/* last change of the permissions */
	uint32_t uid, gid, mode;	/* kern_ipc_perm's settable part */
	uint32_t reserved3;
	uint8_t pad[104];
};

_Static_assert(sizeof(struct kipc__obj_hdr) == 256, "object header layout");

/* The validated shape of an object file: a private copy. */
struct kipc__obj_geom {
	uint32_t type;
	uint32_t nelem;		/* the type's table size (shm: attach slots) */
	uint64_t file_size, meta_size, data_off, data_size;
	uint64_t alloc_size;	/* creation: bytes to allocate now (0: all) */
};

struct kipc__obj {
	int fd;
	bool writable;
	bool peeked;			/* hdr is a private copy, not a mapping */
	struct kipc__obj_hdr *hdr;	/* mapping of [0, meta_size) */
	struct kipc__obj_geom geom;
	struct stat st;
};

/* A header and the start of the type's meta, read rather than mapped. */
union kipc__obj_peek {
	struct kipc__obj_hdr hdr;
	char bytes[512];
};

static inline void *kipc__obj_meta(const struct kipc__obj *obj)
{
	return (char *)obj->hdr + sizeof(struct kipc__obj_hdr);
}

int kipc__obj_check(const void *buf, size_t len, uint32_t type,
		    struct kipc__obj_geom *geom);
int kipc__obj_check_hdr(const struct kipc__obj_hdr *hdr, uint64_t file_size,
			uint32_t type, struct kipc__obj_geom *geom);
int kipc__obj_create(enum kipc__ns_kind kind, const struct kipc__obj_geom *geom,
		     mode_t mode, struct kipc__obj *obj);
int kipc__obj_link(struct kipc__obj *obj, enum kipc__ns_kind kind, const char *leaf);
int kipc__obj_open(enum kipc__ns_kind kind, const char *leaf, uint32_t type,
		   struct kipc__obj *obj);
int kipc__obj_peek(enum kipc__ns_kind kind, const char *leaf, uint32_t type,
		   struct kipc__obj *obj, union kipc__obj_peek *buf);
void kipc__obj_close(struct kipc__obj *obj);
int kipc__obj_lock(struct kipc__obj *obj);
void kipc__obj_unlock(struct kipc__obj *obj);
int64_t kipc__obj_now(void);

/*
 * Per-type checks of the meta area, given the file's first bytes (at least
 * meta_size, or all of a union kipc__obj_peek) and the checked header
 * geometry; they check that their fixed meta fits in meta_size before
 * reading it, and fill geom->nelem.
 */
int kipc__sysv_shm_check(const void *file, struct kipc__obj_geom *geom);
int kipc__pipe_check(const void *file, struct kipc__obj_geom *geom);
int kipc__mq_check(const void *file, struct kipc__obj_geom *geom);
int kipc__sysv_msg_check(const void *file, struct kipc__obj_geom *geom);
int kipc__sysv_sem_check(const void *file, struct kipc__obj_geom *geom);

#endif
