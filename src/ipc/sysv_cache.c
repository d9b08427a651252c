// SPDX-License-Identifier: MIT
/*
 * The cache of open System V objects; see sysv_cache.h.  A short list under
 * a mutex: a process uses few objects, and the list is bounded (the least
 * recently used unheld entry goes beyond CACHE_MAX).  In front of it, each
 * thread keeps the entry it used last, with a reference of its own, so a
 * thread calling semop() or msgsnd() on one object again and again finds
 * it without the mutex: the hold is then the thread's own reference, and
 * its release does nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ipc/sysv.h"
#include "ipc/sysv_cache.h"

#define CACHE_MAX 32

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kipc__sysv_ref *cache;
static unsigned int cached;
__thread struct kipc__sysv_ref *kipc__sysv_last __attribute__((tls_model("initial-exec")));
static pthread_key_t last_key;

static void put(struct kipc__sysv_ref *r, bool forget);

static void unmap(struct kipc__sysv_ref *r)
{
	munmap(r->base, r->geom.file_size);
	free(r);
}

/* Lock held: drop unheld entries beyond the bound, oldest (last) first. */
static void trim(void)
{
	struct kipc__sysv_ref **pp = &cache, *r, *victim = NULL, **vp = NULL;

	if (cached <= CACHE_MAX)
		return;
	for (; (r = *pp); pp = &r->next)
		if (!r->refs) {
			victim = r;
			vp = pp;
		}
	if (victim) {
		*vp = victim->next;
		cached--;
		unmap(victim);
	}
}

static int open_ref(uint32_t type, int id, struct kipc__sysv_ref **out)
{
	struct kipc__sysv_ref *r = calloc(1, sizeof(*r));
	struct kipc__obj obj;
	void *base;
	int err;

	if (!r)
		return -ENOMEM;
	err = kipc__sysv_open_id(type, id, &obj);
	if (!err && !obj.writable) {
		kipc__obj_close(&obj);
		err = -EACCES;
	}
	if (err) {
		free(r);
		return err;
	}
	base = mmap(NULL, obj.geom.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, obj.fd, 0);
	if (base == MAP_FAILED) {
		err = -errno;
		kipc__obj_close(&obj);
		free(r);
		return err;
	}
	r->type = type;
	r->id = id;
	r->geom = obj.geom;
	r->base = base;
	r->hdr = base;
	r->meta = (char *)base + sizeof(struct kipc__obj_hdr);
	r->data = (char *)base + obj.geom.data_off;
	r->fd_uid = obj.st.st_uid;
	kipc__obj_close(&obj);
	*out = r;
	return 0;
}

/* The thread's last entry becomes r, whose reference it takes over. */
static void remember(struct kipc__sysv_ref *r)
{
	struct kipc__sysv_ref *old = kipc__sysv_last;

	kipc__sysv_last = r;
	pthread_setspecific(last_key, r);
	if (old)
		put(old, false);
}

/*
 * The entry for an id, live or not: kipc__sysv_hold_slow() checks.  The
 * thread's last entry was looked at inline by kipc__sysv_hold().
 */
static int hold_any(uint32_t type, int id, struct kipc__sysv_ref **out)
{
	struct kipc__sysv_ref **pp, *r, *fresh = NULL;
	int err;

	pthread_mutex_lock(&cache_lock);
	for (pp = &cache; (r = *pp); pp = &r->next) {
		if (r->type != type || r->id != id || r->dead)
			continue;
		/* Most recently used first. */
		*pp = r->next;
		r->next = cache;
		cache = r;
		r->refs++;
		pthread_mutex_unlock(&cache_lock);
		remember(r);
		*out = r;
		return 0;
	}
	pthread_mutex_unlock(&cache_lock);
	err = open_ref(type, id, &fresh);
	if (err)
		return err;
	pthread_mutex_lock(&cache_lock);
	fresh->refs = 1;
	fresh->next = cache;
	cache = fresh;
	cached++;
	trim();
	pthread_mutex_unlock(&cache_lock);
	remember(fresh);
	*out = fresh;
	return 0;
}

static void put(struct kipc__sysv_ref *r, bool forget)
{
	struct kipc__sysv_ref **pp;
	bool gone = false;

	pthread_mutex_lock(&cache_lock);
	if (forget && !r->dead) {
		__atomic_store_n(&r->dead, true, __ATOMIC_RELAXED);
		for (pp = &cache; *pp; pp = &(*pp)->next)
			if (*pp == r) {
				*pp = r->next;
				cached--;
				break;
			}
	}
	gone = --r->refs == 0 && r->dead;
	pthread_mutex_unlock(&cache_lock);
	if (gone)
		unmap(r);
}

int kipc__sysv_hold_slow(uint32_t type, int id, struct kipc__sysv_ref **out)
{
	int err = id < 0 ? -EINVAL : hold_any(type, id, out);

	/* A removed object's id names nothing any more. */
	if (!err && kipc__sysv_removed(*out)) {
		kipc__sysv_forget(*out);
		err = -EINVAL;
	}
	return err;
}

void kipc__sysv_put(struct kipc__sysv_ref *r)
{
	put(r, false);
}

void kipc__sysv_forget(struct kipc__sysv_ref *r)
{
	if (r == kipc__sysv_last) {
		kipc__sysv_last = NULL;
		pthread_setspecific(last_key, NULL);
	}
	put(r, true);
}

/* A thread that ends gives its last entry's reference back. */
static void thread_gone(void *r)
{
	put(r, false);
}

static void cache_fork_child(void)
{
	pthread_mutex_init(&cache_lock, NULL);
}

__attribute__((constructor)) static void cache_setup(void)
{
	pthread_key_create(&last_key, thread_gone);
	pthread_atfork(NULL, NULL, cache_fork_child);
}
