// SPDX-License-Identifier: MIT
/*
 * The System V registry; see sysv.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ipc/sysv.h"
#include "task.h"
#include "timeout.h"

/* Give up on an id after this many collisions: the id space is full. */
#define MAX_ID_TRIES 4096

const char *kipc__sysv_stem(uint32_t type)
{
	switch (type) {
	case KIPC__OBJ_SYSV_SHM: return "shm";
	case KIPC__OBJ_SYSV_MSG: return "msg";
	case KIPC__OBJ_SYSV_SEM: return "sem";
	}
	return "?";
}

static void id_leaf(char *buf, size_t len, uint32_t type, int id)
{
	snprintf(buf, len, "%s.%d", kipc__sysv_stem(type), id);
}

static void key_leaf(char *buf, size_t len, uint32_t type, key_t key)
{
	snprintf(buf, len, "%s.key.%08x", kipc__sysv_stem(type), (unsigned int)key);
}

/*
 * The next id for a type.  The counter file is writable by everyone (any
 * user may create objects), so its value is only a starting point: the
 * caller's link() is what makes an id unique.  Without the file (no
 * permission, no space) ids start from the clock, still unique by link().
 * The mapping is kept for the namespace it was made for: a process makes
 * objects in bursts, and mapping a file costs more than the rest of an id.
 */
static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;
static char ids_root[PATH_MAX];
static uint32_t *ids;

static uint32_t *map_ids(void)
{
	const char *root = kipc__ns_root();
	uint32_t *ctr;
	struct stat st;
	int fd;

	if (ids && !strcmp(root, ids_root))
		return ids;
	fd = kipc__ns_open(KIPC__NS_SYSV, ".ids", O_RDWR | O_CREAT, 0666);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && st.st_size < 4096) {
		/* We made it (or a racing creator did): mode 0666 despite umask. */
		(void)fchmod(fd, 0666);
		(void)ftruncate(fd, 4096);
	}
	ctr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (ctr == MAP_FAILED)
		return NULL;
	if (ids)
		munmap(ids, 4096);
	snprintf(ids_root, sizeof(ids_root), "%s", root);
	return ids = ctr;
}

/* A fork child may inherit the lock held by a thread it does not have. */
static void ids_fork_child(void)
{
	pthread_mutex_init(&ids_lock, NULL);
}

__attribute__((constructor)) static void ids_setup(void)
{
	pthread_atfork(NULL, NULL, ids_fork_child);
}

static uint32_t next_id(uint32_t type)
{
	uint32_t id = (uint32_t)kipc__obj_now(), *ctr;

	pthread_mutex_lock(&ids_lock);
	ctr = map_ids();
	/* Relaxed: the value orders nothing, link() does. */
	if (ctr)
		id = __atomic_fetch_add(&ctr[type * 16], 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ids_lock);
	return id;
}

/* The name leaf in the sysv directory still names obj's file. */
static bool names_obj(const struct kipc__obj *obj, const char *leaf)
{
	char path[PATH_MAX];
	struct stat st;

	return !kipc__ns_path(path, KIPC__NS_SYSV, leaf) && lstat(path, &st) == 0 &&
	       st.st_ino == obj->st.st_ino && st.st_dev == obj->st.st_dev;
}

static void unlink_leaf(const char *leaf)
{
	char path[PATH_MAX];

	if (!kipc__ns_path(path, KIPC__NS_SYSV, leaf))
		unlink(path);
}

static int publish(uint32_t type, key_t key, struct kipc__obj *obj)
{
	char leaf[64];
	int err;

	obj->hdr->key = key;
	for (int tries = 0;; tries++) {
		int id = (int)(next_id(type) & INT32_MAX);

		if (tries == MAX_ID_TRIES)
			return -ENOSPC;
		obj->hdr->id = id;
		id_leaf(leaf, sizeof(leaf), type, id);
		err = kipc__obj_link(obj, KIPC__NS_SYSV, leaf);
		if (err != -EEXIST)
			break;
	}
	if (err)
		return err;
	if (key != IPC_PRIVATE) {
		char kleaf[64];

		key_leaf(kleaf, sizeof(kleaf), type, key);
		err = kipc__obj_link(obj, KIPC__NS_SYSV, kleaf);
		if (err) {
			/* Lost the race for the key (or failed): take back the id. */
			unlink_leaf(leaf);
			return err;
		}
	}
	/* Release: whoever sees LIVE sees a complete object. */
	__atomic_store_n(&obj->hdr->state, KIPC__OBJ_LIVE, __ATOMIC_RELEASE);
	return 0;
}

static int create(uint32_t type, key_t key, int flags, const struct kipc__obj_geom *geom,
		  void (*init)(struct kipc__obj *, void *), void *arg, struct kipc__obj *obj)
{
	int err = kipc__obj_create(KIPC__NS_SYSV, geom, (mode_t)(flags & 0777), obj);

	if (err)
		return err;
	init(obj, arg);
	err = publish(type, key, obj);
	if (err)
		kipc__obj_close(obj);
	return err;
}

/* The caller's own access, as ipcperms() would grant the flags' mode bits. */
static int check_access(const struct kipc__obj *obj, int flags)
{
	return (flags & 0222) && !obj->writable ? -EACCES : 0;
}

int kipc__sysv_get(uint32_t type, key_t key, int flags, const struct kipc__obj_geom *geom,
		   void (*init)(struct kipc__obj *obj, void *arg), void *arg,
		   struct kipc__obj *obj, union kipc__obj_peek *buf)
{
	char leaf[64];
	int err;

	if (key == IPC_PRIVATE)
		return create(type, key, flags, geom, init, arg, obj);
	key_leaf(leaf, sizeof(leaf), type, key);
	for (;;) {
		err = kipc__obj_peek(KIPC__NS_SYSV, leaf, type, obj, buf);
		if (err == 0) {
			if (__atomic_load_n(&obj->hdr->state, __ATOMIC_ACQUIRE) ==
			    KIPC__OBJ_REMOVED) {
				/* Being removed: its key link is about to go. */
				kipc__obj_close(obj);
				sched_yield();
				continue;
			}
			if ((flags & IPC_CREAT) && (flags & IPC_EXCL)) {
				kipc__obj_close(obj);
				return -EEXIST;
			}
			err = check_access(obj, flags);
			if (err)
				kipc__obj_close(obj);
			return err;
		}
		/* Exists but unreadable: under IPC_EXCL the kernel says EEXIST first. */
		if (err == -EACCES && (flags & IPC_CREAT) && (flags & IPC_EXCL))
			return -EEXIST;
		if (err != -ENOENT || !(flags & IPC_CREAT) || !geom)
			return err;
		err = create(type, key, flags, geom, init, arg, obj);
		if (err != -EEXIST)
			return err;
		/* Another creator won the key: use theirs (or EEXIST). */
	}
}

int kipc__sysv_open_id(uint32_t type, int id, struct kipc__obj *obj)
{
	char leaf[64];
	int err;

	if (id < 0)
		return -EINVAL;
	id_leaf(leaf, sizeof(leaf), type, id);
	err = kipc__obj_open(KIPC__NS_SYSV, leaf, type, obj);
	if (err)
		return err == -ENOENT ? -EINVAL : err;
	if (obj->hdr->id != id) {
		kipc__obj_close(obj);
		return -EBADMSG;
	}
	if (__atomic_load_n(&obj->hdr->state, __ATOMIC_ACQUIRE) == KIPC__OBJ_CREATING &&
	    !kipc__proc_alive(obj->hdr->cpid, obj->hdr->cstart)) {
		char kleaf[64];

		key_leaf(kleaf, sizeof(kleaf), type, obj->hdr->key);
		if (obj->hdr->key == IPC_PRIVATE || !names_obj(obj, kleaf)) {
			/* Abandoned half-way by a killed creator. */
			if (names_obj(obj, leaf))
				unlink_leaf(leaf);
			kipc__obj_close(obj);
			return -EINVAL;
		}
		/* Killed after publishing its key: it is complete. */
		__atomic_store_n(&obj->hdr->state, KIPC__OBJ_LIVE, __ATOMIC_RELEASE);
	}
	return 0;
}

bool kipc__sysv_owner_ok(const struct kipc__obj *obj)
{
	uid_t euid = geteuid();

	return euid == 0 || euid == obj->st.st_uid || euid == obj->hdr->uid ||
	       euid == obj->hdr->cuid;
}

void kipc__sysv_unpublish(struct kipc__obj *obj)
{
	struct kipc__obj_hdr *h = obj->hdr;
	char leaf[64];

	if (h->state == KIPC__OBJ_REMOVED)
		return;
	/*
	 * The key link goes first: a lookup that reached the object through
	 * it before and then reads REMOVED retries and finds the key free.
	 * Killed in between, the object stays reachable by id, as if
	 * IPC_RMID had not been called, rather than leaving a dead key.
	 */
	if (h->key != IPC_PRIVATE) {
		key_leaf(leaf, sizeof(leaf), obj->geom.type, h->key);
		if (names_obj(obj, leaf))
			unlink_leaf(leaf);
	}
	h->ctime = kipc__obj_now();
	__atomic_store_n(&h->state, KIPC__OBJ_REMOVED, __ATOMIC_RELEASE);
}

void kipc__sysv_destroy(struct kipc__obj *obj)
{
	char leaf[64];

	id_leaf(leaf, sizeof(leaf), obj->geom.type, obj->hdr->id);
	if (names_obj(obj, leaf))
		unlink_leaf(leaf);
}

int kipc__sysv_set_perm(struct kipc__obj *obj, uid_t uid, gid_t gid, mode_t mode)
{
	struct kipc__obj_hdr *h = obj->hdr;

	/* The file's owner is what the kernel enforces: it must follow. */
	if ((uid != obj->st.st_uid || gid != obj->st.st_gid) && fchown(obj->fd, uid, gid) < 0)
		return -errno;
	if (fchmod(obj->fd, mode & 0777) < 0)
		return -errno;
	h->uid = uid;
	h->gid = gid;
	h->mode = mode & 0777;
	h->ctime = kipc__obj_now();
	return 0;
}

void kipc__sysv_deadline(struct timespec *deadline, const struct timespec *timeout)
{
	/* Longer timeouts are cut to a century, whose nanoseconds fit 64 bits. */
	const uint64_t year = 365ull * 24 * 3600, century = 100 * year;
	uint64_t sec = !timeout ? year : (uint64_t)timeout->tv_sec < century ?
		       (uint64_t)timeout->tv_sec : century;

	kipc__deadline_after(deadline, sec * 1000000000u +
			     (timeout ? (uint64_t)timeout->tv_nsec : 0));
}

bool kipc__sysv_owns_file(uint32_t type, int id)
{
	char leaf[64], path[PATH_MAX];
	struct stat st;

	id_leaf(leaf, sizeof(leaf), type, id);
	return geteuid() == 0 || (!kipc__ns_path(path, KIPC__NS_SYSV, leaf) &&
				  stat(path, &st) == 0 && st.st_uid == geteuid());
}

int kipc__sysv_open_owned(uint32_t type, int id, struct kipc__obj *obj)
{
	int err = kipc__sysv_open_id(type, id, obj);

	/* The kernel asks only who owns it: a stranger is EPERM, not EACCES. */
	if (err == -EACCES && !kipc__sysv_owns_file(type, id))
		return -EPERM;
	if (err)
		return err;
	if (!kipc__sysv_owner_ok(obj) || !obj->writable) {
		kipc__obj_close(obj);
		return -EPERM;
	}
	return 0;
}
