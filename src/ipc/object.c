// SPDX-License-Identifier: MIT
/*
 * Object files; see object.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "ipc/object.h"
#include "task.h"

typedef int (*meta_check_fn)(const void *file, struct kipc__obj_geom *geom);

/* Types whose layout this build knows; the others are EINVAL. */
static const meta_check_fn meta_check[KIPC__OBJ_NTYPES] = {
	[KIPC__OBJ_SYSV_SHM] = kipc__sysv_shm_check,
	[KIPC__OBJ_MQ] = kipc__mq_check,
	[KIPC__OBJ_FIFO] = kipc__pipe_check,
	[KIPC__OBJ_SYSV_MSG] = kipc__sysv_msg_check,
	[KIPC__OBJ_SYSV_SEM] = kipc__sysv_sem_check,
};

int64_t kipc__obj_now(void)
{
	/*
	 * Seconds are all the *_time fields keep, as the kernel's
	 * ktime_get_real_seconds(): time() reads them from the vDSO without
	 * the nanoseconds (a few instructions, on the semop fast path).
	 */
	return time(NULL);
}

/* a + b <= limit, without overflow. */
static bool fits(uint64_t a, uint64_t b, uint64_t limit)
{
	return a <= limit && b <= limit - a;
}

int kipc__obj_check_hdr(const struct kipc__obj_hdr *h, uint64_t file_size,
			uint32_t type, struct kipc__obj_geom *g)
{
	long page = sysconf(_SC_PAGESIZE);

	if (file_size < sizeof(*h) || memcmp(h->magic, KIPC__OBJ_MAGIC, 8) ||
	    h->version != KIPC__OBJ_VERSION || h->hdr_size != sizeof(*h))
		return -EBADMSG;
	if (h->type == 0 || h->type >= KIPC__OBJ_NTYPES)
		return -EBADMSG;
	if (type && h->type != type)
		return -EINVAL;
	if (!meta_check[h->type])
		return -EINVAL;
	/* Exactly the size it was made with: truncated or grown is corrupt. */
	if (h->file_size != file_size)
		return -EBADMSG;
	if (h->meta_size < sizeof(*h) || h->meta_size > h->data_off ||
	    h->data_off % (uint64_t)page || !fits(h->data_off, h->data_size, file_size))
		return -EBADMSG;
	if (h->state > KIPC__OBJ_REMOVED)
		return -EBADMSG;
	*g = (struct kipc__obj_geom){
		.type = h->type,
		.file_size = h->file_size,
		.meta_size = h->meta_size,
		.data_off = h->data_off,
		.data_size = h->data_size,
	};
	return 0;
}

int kipc__obj_check(const void *buf, size_t len, uint32_t type,
		    struct kipc__obj_geom *g)
{
	struct kipc__obj_hdr h;
	int err;

	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	err = kipc__obj_check_hdr(&h, len, type, g);
	return err ? err : meta_check[g->type](buf, g);
}

static void init_hdr(struct kipc__obj_hdr *h, const struct kipc__obj_geom *g, mode_t mode)
{
	const struct kipc__proc *self = kipc__proc_self();

	memcpy(h->magic, KIPC__OBJ_MAGIC, 8);
	h->type = g->type;
	h->version = KIPC__OBJ_VERSION;
	h->hdr_size = sizeof(*h);
	h->file_size = g->file_size;
	h->meta_size = g->meta_size;
	h->data_off = g->data_off;
	h->data_size = g->data_size;
	h->key = IPC_PRIVATE;
	h->id = -1;
	h->cpid = self->pid;
	h->cuid = h->uid = geteuid();
	h->cgid = h->gid = getegid();
	h->cstart = self->start;
	h->otime = h->ctime = kipc__obj_now();
	h->state = KIPC__OBJ_CREATING;
	h->mode = mode & 0777;
	kipc_mutex_init_flags(&h->lock, KIPC_PSHARED);
}

static int map_meta(struct kipc__obj *obj, int prot)
{
	void *p = mmap(NULL, obj->geom.meta_size, prot, MAP_SHARED, obj->fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	obj->hdr = p;
	return 0;
}

/*
 * An unnamed file (O_TMPFILE) until it is linked: a creator killed before
 * that leaves nothing behind, and nobody sees a half-initialised object.
 */
int kipc__obj_create(enum kipc__ns_kind kind, const struct kipc__obj_geom *geom,
		     mode_t mode, struct kipc__obj *obj)
{
	char dir[PATH_MAX];
	int err = kind == KIPC__NS_NKINDS ? 0 : kipc__ns_path(dir, kind, NULL);
	uint64_t alloc = geom->alloc_size ? geom->alloc_size : geom->file_size;

	if (err)
		return err;
	if (kind == KIPC__NS_NKINDS)
		obj->fd = memfd_create("kipc", MFD_CLOEXEC);
	else
		obj->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (obj->fd < 0 && errno == ENOENT && kind != KIPC__NS_NKINDS) {
		err = kipc__ns_mkdirs(kind);
		if (err)
			return err;
		obj->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	}
	if (obj->fd < 0)
		return -errno;
	obj->writable = true;
	obj->peeked = false;
	obj->hdr = NULL;
	obj->geom = *geom;
	/* Owner and mode are the object's permissions, umask or not. */
	if (fchmod(obj->fd, mode & 0777) < 0) {
		err = -errno;
		goto fail;
	}
	/*
	 * Every page now (or every page the type will touch before it
	 * allocates more), so that a full tmpfs is ENOSPC here, not SIGBUS
	 * later.
	 */
	err = -posix_fallocate(obj->fd, 0, (off_t)alloc);
	if (!err && alloc < geom->file_size && ftruncate(obj->fd, (off_t)geom->file_size) < 0)
		err = -errno;
	if (err)
		goto fail;
	err = map_meta(obj, PROT_READ | PROT_WRITE);
	if (err)
		goto fail;
	init_hdr(obj->hdr, geom, mode);
	if (fstat(obj->fd, &obj->st) < 0) {
		err = -errno;
		kipc__obj_close(obj);
		return err;
	}
	return 0;
fail:
	close(obj->fd);
	obj->fd = -1;
	return err;
}

int kipc__obj_link(struct kipc__obj *obj, enum kipc__ns_kind kind, const char *leaf)
{
	char path[PATH_MAX], self[32];
	int err = kipc__ns_path(path, kind, leaf);

	if (err)
		return err;
	/*
	 * linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc form
	 * is the documented way for everyone else (open(2), O_TMPFILE).
	 */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", obj->fd);
	if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno == ENOENT && linkat(obj->fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
		return 0;
	return -errno;
}

/*
 * Open by name and validate the header and the type's fixed meta, read
 * into buf: enough for lookups, which need no mapping and no lock.
 */
static int open_checked(enum kipc__ns_kind kind, const char *leaf, uint32_t type,
			struct kipc__obj *obj, union kipc__obj_peek *buf)
{
	ssize_t n;
	int err;

	obj->hdr = NULL;
	/* O_NONBLOCK: a FIFO or device planted in the namespace must not block us. */
	obj->fd = kipc__ns_open(kind, leaf, O_RDWR | O_NONBLOCK, 0);
	obj->writable = obj->fd >= 0;
	if (obj->fd == -EACCES)
		obj->fd = kipc__ns_open(kind, leaf, O_RDONLY | O_NONBLOCK, 0);
	/* A directory, socket or symlink where an object should be is foreign. */
	if (obj->fd == -EISDIR || obj->fd == -ENXIO || obj->fd == -ELOOP ||
	    obj->fd == -ENODEV || obj->fd == -ETXTBSY)
		obj->fd = -EBADMSG;
	if (obj->fd < 0)
		return obj->fd;
	if (fstat(obj->fd, &obj->st) < 0) {
		err = -errno;
		goto fail;
	}
	err = -EBADMSG;
	if (!S_ISREG(obj->st.st_mode))
		goto fail;
	n = pread(obj->fd, buf, sizeof(*buf), 0);
	if (n < (ssize_t)sizeof(buf->hdr))
		goto fail;
	err = kipc__obj_check_hdr(&buf->hdr, (uint64_t)obj->st.st_size, type, &obj->geom);
	/* A short read, of a file that shrank under us, is corrupt too. */
	if (!err && (uint64_t)n < (obj->geom.meta_size < sizeof(*buf) ?
				   obj->geom.meta_size : sizeof(*buf)))
		err = -EBADMSG;
	if (!err)
		err = meta_check[obj->geom.type](buf, &obj->geom);
	if (!err)
		return 0;
fail:
	close(obj->fd);
	obj->fd = -1;
	return err;
}

int kipc__obj_peek(enum kipc__ns_kind kind, const char *leaf, uint32_t type,
		   struct kipc__obj *obj, union kipc__obj_peek *buf)
{
	int err = open_checked(kind, leaf, type, obj, buf);

	if (!err) {
		close(obj->fd);
		obj->fd = -1;
		obj->hdr = &buf->hdr;
		obj->peeked = true;
	}
	return err;
}

int kipc__obj_open(enum kipc__ns_kind kind, const char *leaf, uint32_t type,
		   struct kipc__obj *obj)
{
	union kipc__obj_peek buf;
	int err = open_checked(kind, leaf, type, obj, &buf);

	if (err)
		return err;
	obj->peeked = false;
	err = map_meta(obj, obj->writable ? PROT_READ | PROT_WRITE : PROT_READ);
	/*
	 * The checked geometry is ours; the mapping's fixed meta is checked
	 * again only because types read it from there (it is shared, so the
	 * check cannot be final, only a guard against what the file held).
	 */
	if (!err)
		err = meta_check[obj->geom.type](obj->hdr, &obj->geom);
	if (err)
		kipc__obj_close(obj);
	return err;
}

void kipc__obj_close(struct kipc__obj *obj)
{
	if (obj->hdr && !obj->peeked)
		munmap(obj->hdr, obj->geom.meta_size);
	if (obj->fd >= 0)
		close(obj->fd);
	obj->hdr = NULL;
	obj->fd = -1;
}

int kipc__obj_lock(struct kipc__obj *obj)
{
	struct kipc_mutex *lock = &obj->hdr->lock;
	int err;

	if (!obj->writable)
		return -EACCES;
	if (__atomic_load_n(&lock->magic, __ATOMIC_RELAXED) != KIPC__MUTEX_MAGIC ||
	    !(__atomic_load_n(&lock->flags, __ATOMIC_RELAXED) & KIPC_PSHARED))
		return -EBADMSG;
	err = kipc_mutex_lock(lock);
	if (err == -EOWNERDEAD)
		err = kipc_mutex_consistent(lock);
	return err == -ENOTRECOVERABLE ? -EBADMSG : err;
}

void kipc__obj_unlock(struct kipc__obj *obj)
{
	kipc_mutex_unlock(&obj->hdr->lock);
}
