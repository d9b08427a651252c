// SPDX-License-Identifier: MIT
/*
 * System V shared memory (seed 003's shmid_kernel) on object files.
 *
 * The file is the header, a table of attach slots, then the segment,
 * page-aligned so that shmat() maps it directly.  A slot is one attaching
 * process (PID + start time) and its number of attaches; shm_nattch is the
 * sum over the slots of processes still alive, so an attacher killed with
 * -9 stops counting the moment it dies, with nobody having to clean up
 * after it (the next writer of the table reuses its slot).
 *
 * Each process keeps its own list of attaches, for shmdt(addr), for fork()
 * (the child's attaches count as the kernel counts them) and for exit
 * (normal exit detaches, so that a removed segment dies with its last
 * user).  Every slot change is under the header's robust mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <kipc/shm.h>
#include "ipc/describe.h"
#include "ipc/fail.h"
#include "ipc/sysv.h"
#include "task.h"

struct shm_slot {
	uint32_t pid;		/* 0: free */
	uint32_t count;		/* attaches of this process */
	uint64_t start;
};

struct shm_meta {
	uint64_t segsz;		/* as asked for; the mapping is whole pages */
	int64_t atime, dtime;
	uint32_t lpid;		/* last shmat/shmdt */
	uint32_t nslots;	/* the table's size */
	uint32_t nused;		/* slots ever used: scans stop here */
	uint32_t reserved;
	struct shm_slot slot[];
};

_Static_assert(sizeof(struct kipc__obj_hdr) + sizeof(struct shm_meta) <=
	       sizeof(union kipc__obj_peek), "shm meta fits a peek");

/* Room for the table: 16 KiB holds about a thousand attaching processes. */
#define SHM_META_BYTES 16384

struct attach {
	struct attach *next;
	void *addr;
	size_t len;
	struct kipc__obj obj;	/* its meta stays mapped; fd closed */
};

static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;
static struct attach *attaches;

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static struct shm_meta *meta(const struct kipc__obj *obj)
{
	return kipc__obj_meta(obj);
}

int kipc__sysv_shm_check(const void *file, struct kipc__obj_geom *g)
{
	const struct shm_meta *m = (const void *)((const char *)file +
						  sizeof(struct kipc__obj_hdr));
	uint64_t page = page_size(), segsz;
	uint32_t nslots;

	if (g->meta_size < sizeof(struct kipc__obj_hdr) + sizeof(*m))
		return -EBADMSG;
	segsz = __atomic_load_n(&m->segsz, __ATOMIC_RELAXED);
	nslots = __atomic_load_n(&m->nslots, __ATOMIC_RELAXED);
	if (nslots > (g->meta_size - sizeof(struct kipc__obj_hdr) - sizeof(*m)) /
			     sizeof(struct shm_slot))
		return -EBADMSG;
	/* The segment is segsz rounded up to whole pages, to the file's end. */
	if (segsz == 0 || segsz > g->data_size || g->data_size - segsz >= page ||
	    g->data_off + g->data_size != g->file_size)
		return -EBADMSG;
	g->nelem = nslots;
	return 0;
}

/* ---- attach slots (under the header lock) ---- */

static bool slot_alive(const struct shm_slot *s)
{
	const struct kipc__proc *self = kipc__proc_self();

	if (s->pid == self->pid && s->start == self->start)
		return true;
	return s->pid && kipc__proc_alive(s->pid, s->start);
}

/* Slots in use so far: the shared count, bounded by the checked size. */
static uint32_t slots_used(const struct kipc__obj *obj)
{
	uint32_t n = meta(obj)->nused;

	return n < obj->geom.nelem ? n : obj->geom.nelem;
}

/* This process's slot, or a free or dead one made ours; NULL when full. */
static struct shm_slot *own_slot(struct kipc__obj *obj)
{
	const struct kipc__proc *self = kipc__proc_self();
	struct shm_meta *m = meta(obj);
	struct shm_slot *spare = NULL;
	uint32_t used = slots_used(obj);

	for (uint32_t i = 0; i < used; i++) {
		struct shm_slot *s = &m->slot[i];

		if (s->pid == self->pid && s->start == self->start)
			return s;
		if (!spare && !s->pid)
			spare = s;
	}
	/* Only when no slot is free are the dead looked for: /proc is slow. */
	for (uint32_t i = 0; !spare && i < used; i++)
		if (!slot_alive(&m->slot[i]))
			spare = &m->slot[i];
	if (!spare && used < obj->geom.nelem) {
		spare = &m->slot[used];
		m->nused = used + 1;
	}
	if (spare) {
		spare->count = 0;
		spare->start = self->start;
		spare->pid = self->pid;
	}
	return spare;
}

/* shm_nattch: attaches of live processes; dead ones' slots are freed. */
static unsigned long nattch(struct kipc__obj *obj, bool locked)
{
	struct shm_meta *m = meta(obj);
	uint32_t used = slots_used(obj);
	unsigned long n = 0;

	for (uint32_t i = 0; i < used; i++) {
		struct shm_slot *s = &m->slot[i];

		if (!s->pid)
			continue;
		if (slot_alive(s))
			n += s->count;
		else if (locked)
			s->pid = 0;
	}
	return n;
}

/* A removed segment nobody is attached to any more is destroyed. */
static bool reap_if_unused(struct kipc__obj *obj)
{
	if (obj->hdr->state != KIPC__OBJ_REMOVED || nattch(obj, true) != 0)
		return false;
	kipc__sysv_destroy(obj);
	return true;
}

/*
 * The segment with this id, unless it is a removed one whose last user was
 * killed: that one is destroyed now, and is as gone as the kernel's would
 * be (EINVAL).
 */
static int open_segment(int id, struct kipc__obj *obj)
{
	int err = kipc__sysv_open_id(KIPC__OBJ_SYSV_SHM, id, obj);
	bool gone = false;

	if (err || !obj->writable ||
	    __atomic_load_n(&obj->hdr->state, __ATOMIC_ACQUIRE) != KIPC__OBJ_REMOVED)
		return err;
	err = kipc__obj_lock(obj);
	if (!err) {
		gone = reap_if_unused(obj);
		kipc__obj_unlock(obj);
	}
	if (err || gone) {
		kipc__obj_close(obj);
		return err ? err : -EINVAL;
	}
	return 0;
}

/* ---- shmget ---- */

struct shm_init {
	size_t size;
};

static void shm_init(struct kipc__obj *obj, void *arg)
{
	struct shm_meta *m = meta(obj);
	const struct shm_init *si = arg;

	m->segsz = si->size;
	m->nslots = obj->geom.nelem;
}

int kipc_shmget(key_t key, size_t size, int shmflg)
{
	struct shm_init si = { .size = size };
	struct kipc__obj_geom g = { .type = KIPC__OBJ_SYSV_SHM }, *geom = &g;
	union kipc__obj_peek buf;
	struct kipc__obj obj;
	size_t page = page_size();
	int err, id;

	g.meta_size = g.data_off = (SHM_META_BYTES + page - 1) & ~(page - 1);
	g.nelem = (uint32_t)((g.meta_size - sizeof(struct kipc__obj_hdr) -
			      sizeof(struct shm_meta)) / sizeof(struct shm_slot));
	g.data_size = (size + page - 1) & ~(page - 1);
	g.file_size = g.data_off + g.data_size;
	/* No new segment of this size (SHMMIN is 1); an existing one may do. */
	if (size == 0 || size > (size_t)INT64_MAX - g.data_off - page) {
		if (key == IPC_PRIVATE)
			return kipc__fail(-EINVAL);
		geom = NULL;
	}
	err = kipc__sysv_get(KIPC__OBJ_SYSV_SHM, key, shmflg, geom, shm_init, &si, &obj, &buf);
	if (err == -ENOENT && !geom && (shmflg & IPC_CREAT))
		err = -EINVAL;
	if (err)
		return kipc__fail(err);
	if (size > meta(&obj)->segsz) {
		kipc__obj_close(&obj);
		return kipc__fail(-EINVAL);
	}
	id = obj.hdr->id;
	kipc__obj_close(&obj);
	return id;
}

/* ---- shmat / shmdt ---- */

static void *fail_ptr(int err)
{
	errno = -err;
	return (void *)-1;
}

/* Count one more (or one fewer) attach of this process; lock held. */
static int account(struct kipc__obj *obj, int delta)
{
	struct shm_meta *m = meta(obj);
	struct shm_slot *s = own_slot(obj);
	int64_t now = kipc__obj_now();

	if (!s)
		return -ENOMEM;
	if (delta > 0)
		s->count++, m->atime = now;
	else if (s->count)
		s->count--, m->dtime = now;
	if (!s->count)
		s->pid = 0;
	m->lpid = kipc__proc_self()->pid;
	return 0;
}

static void *map_segment(struct kipc__obj *obj, const void *addr, int shmflg)
{
	int prot = PROT_READ | (shmflg & SHM_RDONLY ? 0 : PROT_WRITE) |
		   (shmflg & SHM_EXEC ? PROT_EXEC : 0);
	int flags = MAP_SHARED, fd = obj->fd, err;
	void *p;

	if (addr)
		flags |= shmflg & SHM_REMAP ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	if (shmflg & SHM_RDONLY) {
		/* From a read-only description, so mprotect() cannot make it writable. */
		char self[32];

		snprintf(self, sizeof(self), "/proc/self/fd/%d", obj->fd);
		fd = open(self, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail_ptr(-errno);
	}
	p = mmap((void *)addr, obj->geom.data_size, prot, flags, fd, (off_t)obj->geom.data_off);
	err = errno;
	if (fd != obj->fd)
		close(fd);
	if (p == MAP_FAILED)
		/* An occupied range without SHM_REMAP is EINVAL, as the kernel's. */
		return fail_ptr(err == EEXIST ? -EINVAL : -err);
	if (addr && p != addr) {
		/* A kernel without MAP_FIXED_NOREPLACE took it as a hint. */
		munmap(p, obj->geom.data_size);
		return fail_ptr(-EINVAL);
	}
	return p;
}

void *kipc_shmat(int shmid, const void *shmaddr, int shmflg)
{
	struct attach *a;
	uintptr_t addr = (uintptr_t)shmaddr;
	void *p;
	int err;

	if (addr) {
		if (shmflg & SHM_RND)
			addr &= ~(uintptr_t)(SHMLBA - 1);
		if (addr % page_size())
			return fail_ptr(-EINVAL);
	} else if (shmflg & SHM_REMAP) {
		return fail_ptr(-EINVAL);
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return fail_ptr(-ENOMEM);
	err = open_segment(shmid, &a->obj);
	if (err)
		goto out_free;
	/* Attaching writes the table: the file must be writable (shm.h). */
	err = -EACCES;
	if (!a->obj.writable)
		goto out_close;
	p = map_segment(&a->obj, (void *)addr, shmflg);
	err = p == (void *)-1 ? -errno : 0;
	if (err)
		goto out_close;
	a->addr = p;
	a->len = a->obj.geom.data_size;

	pthread_mutex_lock(&attach_lock);
	err = kipc__obj_lock(&a->obj);
	if (!err) {
		/* A removed segment stays attachable while attached (Linux). */
		if (reap_if_unused(&a->obj))
			err = -EINVAL;	/* its last user went meanwhile */
		else
			err = account(&a->obj, +1);
		kipc__obj_unlock(&a->obj);
	}
	if (!err) {
		a->next = attaches;
		attaches = a;
	}
	pthread_mutex_unlock(&attach_lock);
	if (err) {
		munmap(p, a->len);
		goto out_close;
	}
	close(a->obj.fd);
	a->obj.fd = -1;
	return p;
out_close:
	kipc__obj_close(&a->obj);
out_free:
	free(a);
	return fail_ptr(err);
}

/* Detach's bookkeeping; the mapping is the caller's business. */
static void forget(struct attach *a)
{
	if (kipc__obj_lock(&a->obj) == 0) {
		account(&a->obj, -1);
		reap_if_unused(&a->obj);
		kipc__obj_unlock(&a->obj);
	}
}

int kipc_shmdt(const void *shmaddr)
{
	struct attach **pp, *a;

	pthread_mutex_lock(&attach_lock);
	for (pp = &attaches; (a = *pp) && a->addr != shmaddr; pp = &a->next)
		;
	if (a)
		*pp = a->next;
	pthread_mutex_unlock(&attach_lock);
	if (!a)
		return kipc__fail(-EINVAL);
	munmap(a->addr, a->len);
	forget(a);
	kipc__obj_close(&a->obj);
	free(a);
	return 0;
}

/*
 * fork(): the child inherits every attach (the mappings are copied), and
 * the kernel counts them for it; so do we.  The list lock is held across
 * fork() so that the child's copy of the list is consistent.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&attach_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&attach_lock);
}

static void fork_child(void)
{
	kipc__task_forget();
	for (struct attach *a = attaches; a; a = a->next) {
		if (kipc__obj_lock(&a->obj) == 0) {
			account(&a->obj, +1);
			kipc__obj_unlock(&a->obj);
		}
	}
	pthread_mutex_unlock(&attach_lock);
}

/*
 * exit(): the process's attaches end, so a removed segment whose last user
 * this was is destroyed now rather than at the next lookup.  The mappings
 * stay: destructors that run after this one may still use them, and they
 * vanish with the process anyway.
 */
__attribute__((destructor)) static void shm_exit(void)
{
	/*
	 * Only try: another thread of ours, still running while exit() runs
	 * destructors, may hold these locks, and would never release them.
	 * What is skipped stops counting when the process is dead anyway.
	 */
	if (pthread_mutex_trylock(&attach_lock))
		return;
	while (attaches) {
		struct attach *a = attaches;

		if (kipc_mutex_trylock(&a->obj.hdr->lock) == 1) {
			account(&a->obj, -1);
			reap_if_unused(&a->obj);
			kipc__obj_unlock(&a->obj);
		}
		attaches = a->next;
		free(a);
	}
	pthread_mutex_unlock(&attach_lock);
}

__attribute__((constructor)) static void shm_setup(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* ---- shmctl ---- */

static void stat_segment(struct kipc__obj *obj, struct shmid_ds *buf)
{
	const struct kipc__obj_hdr *h = obj->hdr;
	const struct shm_meta *m = meta(obj);
	bool removed = h->state == KIPC__OBJ_REMOVED;

	memset(buf, 0, sizeof(*buf));
	buf->shm_perm.__key = removed ? IPC_PRIVATE : h->key;
	buf->shm_perm.uid = h->uid;
	buf->shm_perm.gid = h->gid;
	buf->shm_perm.cuid = h->cuid;
	buf->shm_perm.cgid = h->cgid;
	buf->shm_perm.mode = (h->mode & 0777) | (removed ? SHM_DEST : 0);
	buf->shm_perm.__seq = (unsigned short)((unsigned int)h->id >> 15);
	buf->shm_segsz = m->segsz;
	buf->shm_atime = m->atime;
	buf->shm_dtime = m->dtime;
	buf->shm_ctime = h->ctime;
	buf->shm_cpid = (pid_t)h->cpid;
	buf->shm_lpid = (pid_t)m->lpid;
	buf->shm_nattch = nattch(obj, obj->writable);
}

int kipc_shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	struct kipc__obj obj;
	int err;

	if (cmd != IPC_STAT && cmd != IPC_SET && cmd != IPC_RMID)
		return kipc__fail(-EINVAL);
	if (cmd != IPC_RMID && !buf)
		return kipc__fail(-EFAULT);
	err = open_segment(shmid, &obj);
	if (err == -EACCES && cmd != IPC_STAT && !kipc__sysv_owns_file(KIPC__OBJ_SYSV_SHM, shmid))
		err = -EPERM;	/* the kernel asks only who owns it */
	if (err)
		return kipc__fail(err);
	if (cmd == IPC_STAT) {
		/* Readers without write access get figures without reaping. */
		if (obj.writable && (err = kipc__obj_lock(&obj)) == 0) {
			stat_segment(&obj, buf);
			reap_if_unused(&obj);
			kipc__obj_unlock(&obj);
		} else if (!obj.writable) {
			stat_segment(&obj, buf);
		}
		kipc__obj_close(&obj);
		return err ? kipc__fail(err) : 0;
	}
	if (!kipc__sysv_owner_ok(&obj) || !obj.writable) {
		kipc__obj_close(&obj);
		return kipc__fail(-EPERM);
	}
	err = kipc__obj_lock(&obj);
	if (!err) {
		if (cmd == IPC_SET) {
			err = kipc__sysv_set_perm(&obj, buf->shm_perm.uid, buf->shm_perm.gid,
						  buf->shm_perm.mode);
		} else {
			kipc__sysv_unpublish(&obj);
			reap_if_unused(&obj);
		}
		kipc__obj_unlock(&obj);
	}
	kipc__obj_close(&obj);
	return err ? kipc__fail(err) : 0;
}

int kipc__sysv_shm_describe(struct kipc__obj *obj, struct kipc__desc *d)
{
	struct shmid_ds ds;

	if (obj->hdr->state == KIPC__OBJ_REMOVED && obj->writable &&
	    kipc__obj_lock(obj) == 0) {
		bool gone = reap_if_unused(obj);

		kipc__obj_unlock(obj);
		if (gone)
			return -ENOENT;
	}
	stat_segment(obj, &ds);
	d->size = ds.shm_segsz;
	kipc__desc_add(d, "nattch", KIPC__DESC_LIVE, "%lu", (unsigned long)ds.shm_nattch);
	kipc__desc_add(d, "cpid", KIPC__DESC_LIVE, "%d", ds.shm_cpid);
	kipc__desc_add(d, "lpid", KIPC__DESC_LIVE, "%d", ds.shm_lpid);
	kipc__desc_add(d, "atime", 0, "%lld", (long long)ds.shm_atime);
	kipc__desc_add(d, "dtime", 0, "%lld", (long long)ds.shm_dtime);
	kipc__desc_add(d, "attach_slots", 0, "%u", obj->geom.nelem);
	return 0;
}
