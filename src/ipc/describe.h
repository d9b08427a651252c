/* SPDX-License-Identifier: MIT */
/*
 * What the kipc tool shows of an object: common fields and a list of
 * named figures, filled by the object's type from a validated file.
 *
 *   kipc__describe(kind, leaf, d)
 *       fill d for the file leaf of kind's directory; 0, or -errno with
 *       d->kind/name/owner/mode/size still filled from the file itself
 *       (a corrupted object is listed, with its error, so it can be seen
 *       and removed)
 *
 * Figures flagged KIPC__DESC_LIVE are the live ones `kipc ls` prints;
 * `kipc stat` prints them all.
 */
#ifndef KIPC_IPC_DESCRIBE_H
#define KIPC_IPC_DESCRIBE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include "ipc/namespace.h"
#include "ipc/object.h"

#define KIPC__DESC_MAX 32
#define KIPC__DESC_LIVE 1

struct kipc__desc_field {
	const char *key;
	char val[48];
	int flags;
};

struct kipc__desc {
	const char *kind;		/* "shm", "sysv-shm", ... */
	char name[NAME_MAX + 2];	/* "/x", or the System V id */
	long long key;			/* System V key, -1 if none */
	uid_t uid;
	gid_t gid;
	mode_t mode;
	uint64_t size;			/* the data's size, as the type counts it */
	const char *state;		/* "live", "removed", "abandoned", "corrupt" */
	int nfields;
	struct kipc__desc_field field[KIPC__DESC_MAX];
};

int kipc__describe(enum kipc__ns_kind kind, const char *leaf, struct kipc__desc *d);
void kipc__desc_add(struct kipc__desc *d, const char *key, int flags, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Per type: the figures of a validated object; -ENOENT if looking found it
 * dead (a removed segment whose last user was killed), and destroyed it.
 */
int kipc__sysv_shm_describe(struct kipc__obj *obj, struct kipc__desc *d);
int kipc__sysv_msg_describe(struct kipc__obj *obj, struct kipc__desc *d);
int kipc__sysv_sem_describe(struct kipc__obj *obj, struct kipc__desc *d);

#endif
