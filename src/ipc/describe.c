// SPDX-License-Identifier: MIT
/*
 * Object descriptions for the kipc tool; see describe.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include "ipc/describe.h"
#include "ipc/mq.h"
#include "ipc/pipe.h"
#include "task.h"

void kipc__desc_add(struct kipc__desc *d, const char *key, int flags, const char *fmt, ...)
{
	struct kipc__desc_field *f;
	va_list ap;

	if (d->nfields == KIPC__DESC_MAX)
		return;
	f = &d->field[d->nfields++];
	f->key = key;
	f->flags = flags;
	va_start(ap, fmt);
	vsnprintf(f->val, sizeof(f->val), fmt, ap);
	va_end(ap);
}

static const char *type_kind(uint32_t type)
{
	switch (type) {
	case KIPC__OBJ_SYSV_SHM: return "sysv-shm";
	case KIPC__OBJ_MQ: return "mq";
	case KIPC__OBJ_FIFO: return "fifo";
	case KIPC__OBJ_SYSV_MSG: return "sysv-msg";
	case KIPC__OBJ_SYSV_SEM: return "sysv-sem";
	}
	return "?";
}

static void describe_header(struct kipc__obj *obj, struct kipc__desc *d)
{
	const struct kipc__obj_hdr *h = obj->hdr;
	bool alive = kipc__proc_alive(h->cpid, h->cstart);

	d->kind = type_kind(obj->geom.type);
	switch (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE)) {
	case KIPC__OBJ_CREATING:
		d->state = alive ? "creating" : "abandoned";
		break;
	case KIPC__OBJ_LIVE:
		d->state = "live";
		break;
	default:
		d->state = "removed";
	}
	if (h->id >= 0) {
		/* A removed object has given its key up, as IPC_STAT says. */
		unsigned int key = h->state == KIPC__OBJ_REMOVED ? IPC_PRIVATE : (unsigned int)h->key;

		d->key = key;
		kipc__desc_add(d, "id", 0, "%d", h->id);
		kipc__desc_add(d, "key", 0, "0x%08x", key);
	}
	kipc__desc_add(d, "version", 0, "%u", h->version);
	kipc__desc_add(d, "file_size", 0, "%llu", (unsigned long long)obj->geom.file_size);
	kipc__desc_add(d, "data_offset", 0, "%llu", (unsigned long long)obj->geom.data_off);
	kipc__desc_add(d, "creator_pid", 0, "%u", h->cpid);
	kipc__desc_add(d, "creator_alive", 0, "%s", alive ? "yes" : "no");
	kipc__desc_add(d, "creator_uid", 0, "%u", h->cuid);
	kipc__desc_add(d, "creator_gid", 0, "%u", h->cgid);
	kipc__desc_add(d, "created", 0, "%lld", (long long)h->otime);
	kipc__desc_add(d, "changed", 0, "%lld", (long long)h->ctime);
}

int kipc__describe(enum kipc__ns_kind kind, const char *leaf, struct kipc__desc *d)
{
	struct kipc__obj obj = { .fd = -1 };
	char path[PATH_MAX];
	struct stat st;
	int err;

	memset(d, 0, sizeof(*d));
	d->key = -1;
	d->state = "corrupt";
	d->kind = kipc__ns_dirname[kind];
	err = kipc__ns_path(path, kind, leaf);
	if (err)
		return err;
	if (lstat(path, &st) < 0)
		return -errno;
	d->uid = st.st_uid;
	d->gid = st.st_gid;
	d->mode = st.st_mode & 07777;
	d->size = (uint64_t)st.st_size;
	snprintf(d->name, sizeof(d->name), "/%s", leaf);
	if (kind == KIPC__NS_SYSV) {
		/* Named as the tool names it even if the file is unreadable. */
		static const char *const kinds[] = { "sysv-shm", "sysv-msg", "sysv-sem" };
		const char *dot = strchr(leaf, '.');

		for (int i = 0; dot && i < 3; i++)
			if (!strncmp(leaf, kinds[i] + 5, (size_t)(dot - leaf)) &&
			    strlen(kinds[i] + 5) == (size_t)(dot - leaf))
				d->kind = kinds[i];
		snprintf(d->name, sizeof(d->name), "%s", dot ? dot + 1 : leaf);
	}
	if (kind == KIPC__NS_SHM) {
		/* The caller's own bytes: the file is all there is. */
		d->state = S_ISREG(st.st_mode) ? "live" : "corrupt";
		return S_ISREG(st.st_mode) ? 0 : -EBADMSG;
	}
	err = kipc__obj_open(kind, leaf, 0, &obj);
	if (err)
		return err;
	describe_header(&obj, d);
	if (kind == KIPC__NS_SYSV)
		snprintf(d->name, sizeof(d->name), "%d", obj.hdr->id);
	d->mode = obj.hdr->mode | (d->mode & ~0777u);
	d->uid = obj.hdr->uid;
	d->gid = obj.hdr->gid;
	d->size = obj.geom.data_size;
	switch (obj.geom.type) {
	case KIPC__OBJ_SYSV_SHM:
		err = kipc__sysv_shm_describe(&obj, d);
		break;
	case KIPC__OBJ_FIFO:
		err = kipc__pipe_describe(&obj, d);
		break;
	case KIPC__OBJ_MQ:
		err = kipc__mq_describe(&obj, d);
		break;
	case KIPC__OBJ_SYSV_MSG:
		err = kipc__sysv_msg_describe(&obj, d);
		break;
	case KIPC__OBJ_SYSV_SEM:
		err = kipc__sysv_sem_describe(&obj, d);
		break;
	}
	kipc__obj_close(&obj);
	return err;
}
