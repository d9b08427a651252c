// SPDX-License-Identifier: MIT
/*
 * Shared memory rows: kipc's namespace files beside the kernel's own
 * shm_open() (glibc, /dev/shm) and System V calls, doing the same work.
 *
 * kipc's objects go to a private namespace, removed at exit, so that the
 * benchmark neither sees nor leaves anything in the user's.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>
#include <kipc/shm.h>
#include "bench.h"

#define SEG_BYTES 4096

static char ns_dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void ns_cleanup(void)
{
	nftw(ns_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void private_namespace(void)
{
	if (ns_dir[0])
		return;
	snprintf(ns_dir, sizeof(ns_dir), "/dev/shm/kipc-bench-%d", (int)getpid());
	setenv("KIPC_NAMESPACE", ns_dir, 1);
	atexit(ns_cleanup);
}

/* ---- a named segment's life: create, size, map, touch, unmap, unlink ---- */

typedef int open_fn(const char *name, int oflag, mode_t mode);
typedef int unlink_fn(const char *name);

static struct bench_result named_cycle(const struct bench_run *run, open_fn *op,
				       unlink_fn *ul, const char *name)
{
	uint64_t t0 = bench_now_ns();

	for (uint64_t i = 0; i < run->iters; i++) {
		int fd = op(name, O_RDWR | O_CREAT | O_EXCL, 0600);
		char *p;

		if (fd < 0)
			return bench_failed("open");
		if (ftruncate(fd, SEG_BYTES) < 0)
			return bench_failed("ftruncate");
		p = mmap(NULL, SEG_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return bench_failed("mmap");
		p[0] = 1;
		munmap(p, SEG_BYTES);
		close(fd);
		if (ul(name) < 0)
			return bench_failed("unlink");
	}
	return bench_ns((double)(bench_now_ns() - t0) / (double)run->iters);
}

static struct bench_result kipc_named(const struct bench_run *run)
{
	char name[64];

	private_namespace();
	snprintf(name, sizeof(name), "/bench-%d", (int)getpid());
	return named_cycle(run, kipc_shm_open, kipc_shm_unlink, name);
}

static struct bench_result posix_named(const struct bench_run *run)
{
	char name[64];

	snprintf(name, sizeof(name), "/kipcbench-seg-%d", (int)getpid());
	return named_cycle(run, shm_open, shm_unlink, name);
}

/* ---- System V: look up a segment by key, attach, touch, detach ---- */

struct sysv_ops {
	int (*get)(key_t key, size_t size, int flags);
	void *(*at)(int id, const void *addr, int flags);
	int (*dt)(const void *addr);
	int (*ctl)(int id, int cmd, struct shmid_ds *buf);
};

static const struct sysv_ops kipc_ops = { kipc_shmget, kipc_shmat, kipc_shmdt, kipc_shmctl };
static const struct sysv_ops kernel_ops = { shmget, shmat, shmdt, shmctl };

static struct bench_result attach_cycle(const struct bench_run *run, const struct sysv_ops *o)
{
	/* A key of our own per process and side; removed at the end. */
	key_t key = (key_t)(0x6b000000 | ((unsigned int)getpid() & 0xffff) << 4 |
			    (o == &kipc_ops));
	int id = o->get(key, SEG_BYTES, IPC_CREAT | 0600);
	uint64_t t0;

	if (id < 0)
		return bench_failed("shmget create");
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < run->iters; i++) {
		char *p;

		if (o->get(key, 0, 0) != id)
			return bench_failed("shmget");
		p = o->at(id, NULL, 0);
		if (p == (void *)-1)
			return bench_failed("shmat");
		p[0] = 1;
		if (o->dt(p) < 0)
			return bench_failed("shmdt");
	}
	t0 = bench_now_ns() - t0;
	o->ctl(id, IPC_RMID, NULL);
	return bench_ns((double)t0 / (double)run->iters);
}

static struct bench_result kipc_attach(const struct bench_run *run)
{
	private_namespace();
	return attach_cycle(run, &kipc_ops);
}

static struct bench_result kernel_attach(const struct bench_run *run)
{
	return attach_cycle(run, &kernel_ops);
}

/* ---- System V: a private segment's whole life ---- */

static struct bench_result private_cycle(const struct bench_run *run, const struct sysv_ops *o)
{
	uint64_t t0 = bench_now_ns();

	for (uint64_t i = 0; i < run->iters; i++) {
		int id = o->get(IPC_PRIVATE, SEG_BYTES, 0600);
		char *p;

		if (id < 0)
			return bench_failed("shmget");
		p = o->at(id, NULL, 0);
		if (p == (void *)-1)
			return bench_failed("shmat");
		p[0] = 1;
		if (o->ctl(id, IPC_RMID, NULL) < 0 || o->dt(p) < 0)
			return bench_failed("shmctl/shmdt");
	}
	return bench_ns((double)(bench_now_ns() - t0) / (double)run->iters);
}

static struct bench_result kipc_private(const struct bench_run *run)
{
	private_namespace();
	return private_cycle(run, &kipc_ops);
}

static struct bench_result kernel_private(const struct bench_run *run)
{
	return private_cycle(run, &kernel_ops);
}

static const struct bench_row shm_rows[] = {
	{ .group = "shm", .name = "named: create+size+map+unmap+close+unlink",
	  .kipc = BENCH_SIDE("kipc_shm_open", kipc_named),
	  .peer = BENCH_SIDE("shm_open", posix_named) },
	{ .group = "shm", .name = "System V: shmget(key)+shmat+shmdt",
	  .kipc = BENCH_SIDE("kipc_shmget/shmat/shmdt", kipc_attach),
	  .peer = BENCH_SIDE("shmget/shmat/shmdt", kernel_attach) },
	{ .group = "shm", .name = "System V: private shmget+shmat+IPC_RMID+shmdt",
	  .kipc = BENCH_SIDE("kipc_shmget(IPC_PRIVATE)", kipc_private),
	  .peer = BENCH_SIDE("shmget(IPC_PRIVATE)", kernel_private) },
};
BENCH_TABLE(shm_rows);
