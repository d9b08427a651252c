// SPDX-License-Identifier: MIT
/*
 * System V rows: kipc's message queues and semaphore sets beside the
 * kernel's msgsnd/msgrcv and semop, doing the same work.
 *
 *   msg one-way     a sender process sends iters 64-byte messages, this one
 *                   receives them; time per message
 *   msg ping-pong   64 bytes there (type 1) and back (type 2) on one queue
 *   semop           one process, -1 then +1 on one semaphore: time per semop
 *   sem ping-pong   two processes hand a token back and forth through two
 *                   semaphores; time per round trip
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <unistd.h>
#include <kipc/msg.h>
#include <kipc/sem.h>
#include "bench.h"

struct sysv_ops {
	int (*msgget)(key_t key, int flags);
	int (*msgsnd)(int id, const void *msg, size_t n, int flags);
	ssize_t (*msgrcv)(int id, void *msg, size_t n, long type, int flags);
	int (*msgctl)(int id, int cmd, struct msqid_ds *buf);
	int (*semget)(key_t key, int n, int flags);
	int (*semop)(int id, struct sembuf *ops, size_t n);
	int (*semctl)(int id, int num, int cmd, ...);
};

static const struct sysv_ops kernel_ops = { msgget, msgsnd, msgrcv, msgctl, semget, semop, semctl };
static const struct sysv_ops kipc_ops = { kipc_msgget, kipc_msgsnd, kipc_msgrcv, kipc_msgctl,
					  kipc_semget, kipc_semop, kipc_semctl };

static char ns_dir[64];

static void private_namespace(void)
{
	if (!ns_dir[0]) {
		snprintf(ns_dir, sizeof(ns_dir), "/dev/shm/kipc-bench-sysv-%d", (int)getpid());
		setenv("KIPC_NAMESPACE", ns_dir, 1);
	}
}

static void ns_cleanup(void)
{
	char path[128];

	if (!ns_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/sysv/.ids", ns_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sysv", ns_dir);
	rmdir(path);
	rmdir(ns_dir);
}

struct msg64 {
	long mtype;
	char text[64];
};



static struct bench_result msg_one_way(const struct bench_run *run, const struct sysv_ops *o)
{
	struct msg64 m = { .mtype = 1 };
	int id = o->msgget(IPC_PRIVATE, 0600);
	uint64_t t0, t1;
	bool ok = true;
	pid_t pid;

	if (id < 0)
		return bench_failed("msgget");
	bench_pin(0);
	t0 = bench_now_ns();
	pid = bench_fork(1);
	if (pid == 0) {
		for (uint64_t i = 0; i < run->iters; i++)
			if (o->msgsnd(id, &m, sizeof(m.text), 0) < 0)
				_exit(1);
		_exit(0);
	}
	for (uint64_t i = 0; ok && i < run->iters; i++)
		ok = o->msgrcv(id, &m, sizeof(m.text), 0, 0) == sizeof(m.text);
	t1 = bench_now_ns();
	bench_unpin();
	ok = bench_reap(pid, ok);
	o->msgctl(id, IPC_RMID, NULL);
	if (!ok)
		return bench_failed("the sender failed");
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

static struct bench_result msg_ping_pong(const struct bench_run *run, const struct sysv_ops *o)
{
	struct msg64 m = { .mtype = 1 };
	int id = o->msgget(IPC_PRIVATE, 0600);
	uint64_t t0, t1;
	bool ok;
	pid_t pid;

	if (id < 0)
		return bench_failed("msgget");
	pid = bench_fork(1);
	if (pid == 0) {
		for (uint64_t i = 0; i < run->iters + 1; i++) {
			if (o->msgrcv(id, &m, sizeof(m.text), 1, 0) < 0)
				_exit(1);
			m.mtype = 2;
			if (o->msgsnd(id, &m, sizeof(m.text), 0) < 0)
				_exit(1);
		}
		_exit(0);
	}
	bench_pin(0);
	m.mtype = 1;
	ok = o->msgsnd(id, &m, sizeof(m.text), 0) == 0 && o->msgrcv(id, &m, sizeof(m.text), 2, 0) > 0;
	t0 = bench_now_ns();
	for (uint64_t i = 0; ok && i < run->iters; i++) {
		m.mtype = 1;
		ok = o->msgsnd(id, &m, sizeof(m.text), 0) == 0 &&
		     o->msgrcv(id, &m, sizeof(m.text), 2, 0) > 0;
	}
	t1 = bench_now_ns();
	bench_unpin();
	ok = bench_reap(pid, ok);
	o->msgctl(id, IPC_RMID, NULL);
	if (!ok)
		return bench_failed("the other side failed");
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

static struct bench_result semop_alone(const struct bench_run *run, const struct sysv_ops *o)
{
	struct sembuf down = { 0, -1, 0 }, up = { 0, 1, 0 };
	int id = o->semget(IPC_PRIVATE, 1, 0600);
	uint64_t t0, t1;
	bool ok = true;

	if (id < 0)
		return bench_failed("semget");
	ok = o->semop(id, &up, 1) == 0;
	t0 = bench_now_ns();
	for (uint64_t i = 0; ok && i < run->iters; i += 2)
		ok = o->semop(id, &down, 1) == 0 && o->semop(id, &up, 1) == 0;
	t1 = bench_now_ns();
	o->semctl(id, 0, IPC_RMID);
	if (!ok)
		return bench_failed("semop");
	return bench_ns((double)(t1 - t0) / (double)(run->iters + (run->iters & 1)));
}

static struct bench_result sem_ping_pong(const struct bench_run *run, const struct sysv_ops *o)
{
	struct sembuf ping_up = { 0, 1, 0 }, ping_down = { 0, -1, 0 };
	struct sembuf pong_up = { 1, 1, 0 }, pong_down = { 1, -1, 0 };
	int id = o->semget(IPC_PRIVATE, 2, 0600);
	uint64_t t0, t1;
	bool ok = true;
	pid_t pid;

	if (id < 0)
		return bench_failed("semget");
	pid = bench_fork(1);
	if (pid == 0) {
		for (uint64_t i = 0; i < run->iters + 1; i++)
			if (o->semop(id, &ping_down, 1) < 0 || o->semop(id, &pong_up, 1) < 0)
				_exit(1);
		_exit(0);
	}
	bench_pin(0);
	ok = o->semop(id, &ping_up, 1) == 0 && o->semop(id, &pong_down, 1) == 0;
	t0 = bench_now_ns();
	for (uint64_t i = 0; ok && i < run->iters; i++)
		ok = o->semop(id, &ping_up, 1) == 0 && o->semop(id, &pong_down, 1) == 0;
	t1 = bench_now_ns();
	bench_unpin();
	ok = bench_reap(pid, ok);
	o->semctl(id, 0, IPC_RMID);
	if (!ok)
		return bench_failed("the other side failed");
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

#define SIDES(fn)								\
	static struct bench_result kipc_##fn(const struct bench_run *run)	\
	{									\
		struct bench_result r;						\
										\
		private_namespace();						\
		r = fn(run, &kipc_ops);						\
		ns_cleanup();							\
		return r;							\
	}									\
	static struct bench_result kernel_##fn(const struct bench_run *run)	\
	{									\
		return fn(run, &kernel_ops);					\
	}

SIDES(msg_one_way)
SIDES(msg_ping_pong)
SIDES(semop_alone)
SIDES(sem_ping_pong)

static const struct bench_row sysv_rows[] = {
	{ .group = "sysv", .name = "msg one-way, 64-byte messages",
	  .kipc = BENCH_SIDE("kipc_msgsnd/msgrcv", kipc_msg_one_way),
	  .peer = BENCH_SIDE("msgsnd/msgrcv", kernel_msg_one_way) },
	{ .group = "sysv", .name = "msg 64-byte ping-pong round trip",
	  .kipc = BENCH_SIDE("kipc_msgsnd/msgrcv", kipc_msg_ping_pong),
	  .peer = BENCH_SIDE("msgsnd/msgrcv", kernel_msg_ping_pong) },
	{ .group = "sysv", .name = "semop uncontended",
	  .kipc = BENCH_SIDE("kipc_semop", kipc_semop_alone),
	  .peer = BENCH_SIDE("semop", kernel_semop_alone) },
	{ .group = "sysv", .name = "semaphore ping-pong round trip",
	  .kipc = BENCH_SIDE("kipc_semop", kipc_sem_ping_pong),
	  .peer = BENCH_SIDE("semop", kernel_sem_ping_pong) },
	{ .group = "sysv", .name = "msg 64-byte ping-pong vs the cache-line floor",
	  .kipc = BENCH_SIDE("kipc_msgsnd/msgrcv", kipc_msg_ping_pong), .peer = BENCH_SIDE_LINE_FLOOR },
};
BENCH_TABLE(sysv_rows);
