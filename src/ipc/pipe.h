/* SPDX-License-Identifier: MIT */
/*
 * Pipes, FIFOs and socket pairs: one object type, a file holding one ring
 * (a pipe or FIFO) or two (a socket pair, one per direction).  See
 * docs/pipe.md for the protocol; pipe.c implements it, fifo.c names it.
 *
 * Ends.  A pipe end is an open file description of the object's file (a
 * kernel fd) holding an exclusive open-file-description lock
 * (F_OFD_SETLK) on one byte of its role's range: the readers of channel c,
 * or its writers.  The kernel drops the lock when the last descriptor of
 * that description is closed, in whatever process, and when a process dies:
 * exactly when the kernel would count a pipe end as closed.  So "is there a
 * writer?" is one F_OFD_GETLK over the writers' range, the number of
 * writers is the number of locked bytes in it, and no process ever needs to
 * be seen dying.  fork() shares the description, as it shares a pipe end.
 *
 * The rings themselves are in shared memory and are only ever touched
 * under the channel's writer lock (writers) or reader lock (readers):
 * robust kipc mutexes, so a process killed mid-operation leaves the lock
 * to the next comer and, since head and tail move only after the bytes
 * are copied, no partial record visible.
 */
#ifndef KIPC_IPC_PIPE_H
#define KIPC_IPC_PIPE_H

#include <stdint.h>
#include <kipc/mutex.h>
#include "ipc/fdtable.h"
#include "ipc/object.h"

#define KIPC__PIPE_MAX		(1u << 20)	/* F_SETPIPE_SZ limit, per ring */
#define KIPC__PIPE_DEFAULT	65536u		/* 16 pages, as the kernel */
#define KIPC__PIPE_SLOTS	(1u << 20)	/* lock bytes per role */
#define KIPC__PIPE_SMALL	32u		/* bytes copied beside head */
#define KIPC__PIPE_NOSMALL	UINT64_MAX	/* no copy (being rewritten) */
/* Lock bytes lie past any data: [base + role * SLOTS, + SLOTS). */
#define KIPC__PIPE_LOCK_BASE	((off_t)1 << 40)

enum { KIPC__ROLE_READ, KIPC__ROLE_WRITE };

/* How a ring keeps writes: bytes, messages, or PIPE_BUF packets. */
enum kipc__pipe_kind {
	KIPC__PIPE_STREAM,	/* pipes, FIFOs, SOCK_STREAM */
	KIPC__PIPE_SEQPACKET,	/* SOCK_SEQPACKET: a write is one message */
	KIPC__PIPE_DIRECT,	/* pipe2(O_DIRECT): packets of at most PIPE_BUF */
};

/*
 * A role's "maybe open" state word: gen << 1 | NONE.  Openers take their
 * lock and then advance gen (clearing NONE); whoever finds the role's lock
 * range empty sets NONE only if gen has not moved since it looked, so a
 * racing opener is never declared absent.
 */
#define KIPC__ROLE_NONE 1u

struct kipc__chan {
	/*
	 * Written by writers, polled by readers waiting for bytes.  A stream
	 * write of at most KIPC__PIPE_SMALL bytes is also copied here: a
	 * reader that has just pulled this line over for head then finds the
	 * bytes in it, without pulling the ring's line too (pipe.c, small_*).
	 */
	uint64_t head;			/* bytes published, ever */
	uint32_t hseq;			/* futex: readers sleep on it */
	uint32_t rsleep;		/* readers asleep or about to be */
	uint64_t small_pos;		/* the copy's first byte; KIPC__PIPE_NOSMALL */
	uint32_t small_len;
	uint32_t reserved;
	uint64_t small[4];		/* the bytes, whole words */
	/*
	 * Writers only: their lock and cache on a line of their own, so that
	 * a reader polling head does not pull the lock's line away between
	 * the writer's lock and unlock.
	 */
	struct kipc_mutex wlock;
	uint64_t wtail;			/* the tail as writers last read it */
	uint8_t pad1[64 - 32];
	/* Written by readers, polled by writers waiting for room. */
	uint64_t tail;			/* bytes consumed, ever */
	uint32_t tseq;			/* futex: writers sleep on it */
	uint32_t wsleep;
	uint8_t pad2[64 - 16];
	/* Readers only. */
	struct kipc_mutex rlock;
	uint8_t pad3[64 - 24];
	/* Rarely written. */
	uint32_t cap;			/* bytes, a power of two <= max_cap */
	uint32_t role_state[2];		/* KIPC__ROLE_NONE, by role */
	uint32_t open_seq[2];		/* futex: opens, by role (FIFO open rules) */
	uint32_t slot_hint[2];		/* where the next opener looks first */
	uint32_t slot_high[2];		/* slots ever used, by role */
	uint8_t pad4[64 - 36];
};

struct kipc__pipe_meta {
	uint32_t nchan;			/* 1: pipe or FIFO, 2: socket pair */
	uint32_t packet;		/* enum kipc__pipe_kind */
	uint32_t max_cap;		/* each ring's room in the file */
	uint32_t reserved[13];
	struct kipc__chan chan[2];
};

/* A process's view of one pipe object: shared by its ends. */
struct kipc__pipe {
	kipc_atomic_t refs;
	int probe_fd;			/* no locks: asks about everyone's */
	char *base;			/* the whole file, mapped */
	size_t map_len;
	struct kipc__pipe_meta *m;
	uint32_t nchan, max_cap;	/* checked copies */
	uint32_t packet;		/* checked copy */
	uint64_t data_off;
};

struct kipc__pipe_end {
	struct kipc__file f;
	struct kipc__pipe *p;
	int lock_fd;			/* the end's own description */
	int chan[2];			/* channel read and written, -1 if none */
	uint64_t probe_after;		/* coarse ns of the next liveness probe */
};

extern const struct kipc__file_ops kipc__pipe_ops;

/*
 *   kipc__pipe_geom(nchan, geom)      the file's shape
 *   kipc__pipe_init(obj, nchan, packet)   a new object's meta
 *   kipc__pipe_attach(obj, &p)        map a validated object (obj's fd
 *                                     becomes p's probe descriptor)
 *   kipc__pipe_put(p)                 drop a reference to p
 *   kipc__pipe_end_open(p, rchan, wchan, flags)
 *                                     a new end as a kipc descriptor
 *   kipc__pipe_role_live(p, chan, role)   some end of that role is open
 *   kipc__pipe_role_count(p, chan, role)  how many (open descriptions)
 *   kipc__pipe_open_wait(p, role, seen)   fifo(7)'s blocking open: wait
 *                                     until that role has an end, or has
 *                                     had one opened since open_seq read seen
 */

int kipc__pipe_check(const void *file, struct kipc__obj_geom *geom);
int kipc__pipe_geom(uint32_t nchan, struct kipc__obj_geom *geom);
void kipc__pipe_init(struct kipc__obj *obj, uint32_t nchan, uint32_t packet);
int kipc__pipe_attach(struct kipc__obj *obj, struct kipc__pipe **pp);
void kipc__pipe_put(struct kipc__pipe *p);
int kipc__pipe_end_open(struct kipc__pipe *p, int rchan, int wchan, int flags);
int kipc__pipe_role_live(struct kipc__pipe *p, int chan, int role);
int kipc__pipe_role_count(struct kipc__pipe *p, int chan, int role);
int kipc__pipe_open_wait(struct kipc__pipe *p, int role, uint32_t seen);
void kipc__pipe_announce(struct kipc__pipe *p, int role);
struct kipc__desc;
int kipc__pipe_describe(struct kipc__obj *obj, struct kipc__desc *d);

#endif
