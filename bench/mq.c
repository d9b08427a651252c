// SPDX-License-Identifier: MIT
/*
 * POSIX message queue rows: kipc's queues beside the kernel's, at the same
 * depth (10 messages, the kernel's default msg_max for non-root) and
 * message size, a sender and a receiver process pinned to the two CPUs.
 *
 *   one-way      senders send iters messages, the receiver takes them all
 *                and acknowledges; time per message
 *   ping-pong    a message there and back, iters times; time per round trip
 *
 * Beside the round trip, a SOCK_SEQPACKET socket pair, the kernel's other
 * message channel.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <kipc/mq.h>
#include "bench.h"
#ifdef HAVE_BOOST
#include "boost_mq.h"
#endif

#define DEPTH 10

struct q_ops {
	int (*open)(const char *name, size_t msgsize);	/* a new queue, O_RDWR */
	int (*send)(int q, const char *msg, size_t len);
	ssize_t (*receive)(int q, char *buf, size_t len);
	void (*close_unlink)(int q, const char *name);
};

static int kernel_open(const char *name, size_t msgsize)
{
	struct mq_attr a = { .mq_maxmsg = DEPTH, .mq_msgsize = (long)msgsize };

	mq_unlink(name);
	return mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
}

static int kernel_send(int q, const char *msg, size_t len)
{
	return mq_send(q, msg, len, 0);
}

static ssize_t kernel_receive(int q, char *buf, size_t len)
{
	return mq_receive(q, buf, len, NULL);
}

static void kernel_close(int q, const char *name)
{
	mq_close(q);
	mq_unlink(name);
}

static char ns_dir[64];

static int kipc_open_q(const char *name, size_t msgsize)
{
	struct mq_attr a = { .mq_maxmsg = DEPTH, .mq_msgsize = (long)msgsize };

	if (!ns_dir[0]) {
		snprintf(ns_dir, sizeof(ns_dir), "/dev/shm/kipc-bench-mq-%d", (int)getpid());
		setenv("KIPC_NAMESPACE", ns_dir, 1);
	}
	kipc_mq_unlink(name);
	return kipc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
}

static int kipc_send(int q, const char *msg, size_t len)
{
	return kipc_mq_send(q, msg, len, 0);
}

static ssize_t kipc_receive(int q, char *buf, size_t len)
{
	return kipc_mq_receive(q, buf, len, NULL);
}

static void kipc_close_q(int q, const char *name)
{
	char path[128];

	kipc_mq_close(q);
	kipc_mq_unlink(name);
	snprintf(path, sizeof(path), "%s/mq", ns_dir);
	rmdir(path);
	rmdir(ns_dir);
}

static const struct q_ops kernel_q = { kernel_open, kernel_send, kernel_receive, kernel_close };
static const struct q_ops kipc_q = { kipc_open_q, kipc_send, kipc_receive, kipc_close_q };

struct mq_case {
	size_t msgsize;
	unsigned int senders;
};



/* Receiver in this process; senders are children, each sending its share. */
static struct bench_result one_way(const struct bench_run *run, const struct q_ops *o,
				   const struct mq_case *c)
{
	char name[64], *buf = calloc(1, c->msgsize);
	pid_t pids[4];
	uint64_t t0, t1;
	bool ok = true;
	int q;

	snprintf(name, sizeof(name), "/kipc-bench-%d", (int)getpid());
	if (!buf || (q = o->open(name, c->msgsize)) < 0)
		return bench_failed("mq_open");
	bench_pin(0);
	t0 = bench_now_ns();
	for (unsigned int s = 0; s < c->senders; s++) {
		pids[s] = bench_fork(1);
		if (pids[s] == 0) {
			uint64_t n = run->iters / c->senders + (s < run->iters % c->senders);

			for (uint64_t i = 0; i < n; i++)
				if (o->send(q, buf, c->msgsize) < 0)
					_exit(1);
			_exit(0);
		}
	}
	for (uint64_t i = 0; ok && i < run->iters; i++)
		ok = o->receive(q, buf, c->msgsize) == (ssize_t)c->msgsize;
	t1 = bench_now_ns();
	bench_unpin();
	for (unsigned int s = 0; s < c->senders; s++)
		ok = bench_reap(pids[s], ok) && ok;
	o->close_unlink(q, name);
	free(buf);
	if (!ok)
		return bench_failed("a sender failed");
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

static struct bench_result ping_pong(const struct bench_run *run, const struct q_ops *o,
				     size_t msgsize)
{
	char name[2][64], buf[64];
	uint64_t t0, t1;
	bool ok = true;
	int q[2];
	pid_t pid;

	for (int i = 0; i < 2; i++) {
		snprintf(name[i], sizeof(name[i]), "/kipc-bench-%d-%d", (int)getpid(), i);
		q[i] = o->open(name[i], msgsize);
		if (q[i] < 0)
			return bench_failed("mq_open");
	}
	pid = bench_fork(1);
	if (pid == 0) {
		for (uint64_t i = 0; i < run->iters + 1; i++)
			if (o->receive(q[0], buf, msgsize) < 0 || o->send(q[1], buf, msgsize) < 0)
				_exit(1);
		_exit(0);
	}
	bench_pin(0);
	ok = o->send(q[0], buf, msgsize) == 0 && o->receive(q[1], buf, msgsize) > 0;
	t0 = bench_now_ns();
	for (uint64_t i = 0; ok && i < run->iters; i++)
		ok = o->send(q[0], buf, msgsize) == 0 && o->receive(q[1], buf, msgsize) > 0;
	t1 = bench_now_ns();
	bench_unpin();
	ok = bench_reap(pid, ok);
	o->close_unlink(q[0], name[0]);
	o->close_unlink(q[1], name[1]);
	if (!ok)
		return bench_failed("the other side failed");
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

/* A SOCK_SEQPACKET socket pair's round trip of 64-byte messages. */
static struct bench_result seqpacket_pp(const struct bench_run *run)
{
	char buf[64] = { 0 };
	uint64_t t0, t1;
	bool ok;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return bench_failed("socketpair");
	pid = bench_fork(1);
	if (pid == 0) {
		for (uint64_t i = 0; i < run->iters + 1; i++)
			if (read(sv[1], buf, sizeof(buf)) <= 0 || write(sv[1], buf, sizeof(buf)) <= 0)
				_exit(1);
		_exit(0);
	}
	bench_pin(0);
	ok = write(sv[0], buf, sizeof(buf)) > 0 && read(sv[0], buf, sizeof(buf)) > 0;
	t0 = bench_now_ns();
	for (uint64_t i = 0; ok && i < run->iters; i++)
		ok = write(sv[0], buf, sizeof(buf)) > 0 && read(sv[0], buf, sizeof(buf)) > 0;
	t1 = bench_now_ns();
	bench_unpin();
	ok = bench_reap(pid, ok);
	close(sv[0]);
	close(sv[1]);
	if (!ok)
		return bench_failed("the other side failed");
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

static struct bench_result kipc_ow(const struct bench_run *run)
{
	return one_way(run, &kipc_q, run->arg);
}

static struct bench_result kernel_ow(const struct bench_run *run)
{
	return one_way(run, &kernel_q, run->arg);
}

static struct bench_result kipc_pp(const struct bench_run *run)
{
	return ping_pong(run, &kipc_q, 64);
}

static struct bench_result kernel_pp(const struct bench_run *run)
{
	return ping_pong(run, &kernel_q, 64);
}

static struct mq_case c64 = { 64, 1 }, c4k = { 4096, 1 }, c64x2 = { 64, 2 };

#ifdef HAVE_BOOST
static struct bench_result boost_ow(const struct bench_run *run)
{
	const struct mq_case *c = run->arg;

	return boost_mq_one_way(run, c->msgsize, c->senders);
}

static struct bench_result boost_pp(const struct bench_run *run)
{
	return boost_mq_ping_pong(run, 64);
}
#endif

static const struct bench_row mq_rows[] = {
	{ .group = "mq", .name = "one-way 64-byte messages, depth 10", .arg = &c64,
	  .kipc = BENCH_SIDE("kipc_mq_send/receive", kipc_ow),
	  .peer = BENCH_SIDE("mq_send/mq_receive", kernel_ow) },
	{ .group = "mq", .name = "one-way 4 KiB messages, depth 10", .arg = &c4k,
	  .kipc = BENCH_SIDE("kipc_mq_send/receive", kipc_ow),
	  .peer = BENCH_SIDE("mq_send/mq_receive", kernel_ow) },
	{ .group = "mq", .name = "one-way 64-byte messages, 2 senders", .arg = &c64x2,
	  .kipc = BENCH_SIDE("kipc_mq_send/receive", kipc_ow),
	  .peer = BENCH_SIDE("mq_send/mq_receive", kernel_ow) },
	{ .group = "mq", .name = "64-byte ping-pong round trip",
	  .kipc = BENCH_SIDE("kipc_mq_send/receive", kipc_pp),
	  .peer = BENCH_SIDE("mq_send/mq_receive", kernel_pp) },
	{ .group = "mq", .name = "one-way 64-byte messages vs Boost", .arg = &c64,
	  .kipc = BENCH_SIDE("kipc_mq_send/receive", kipc_ow),
	  .peer = BENCH_SIDE_BOOST("boost message_queue", boost_ow) },
	{ .group = "mq", .name = "one-way 64-byte, 2 senders vs Boost", .arg = &c64x2,
	  .kipc = BENCH_SIDE("kipc_mq_send/receive", kipc_ow),
	  .peer = BENCH_SIDE_BOOST("boost message_queue", boost_ow) },
	{ .group = "mq", .name = "64-byte ping-pong vs Boost",
	  .kipc = BENCH_SIDE("kipc_mq_send/receive", kipc_pp),
	  .peer = BENCH_SIDE_BOOST("boost message_queue", boost_pp) },
	{ .group = "mq", .name = "64-byte ping-pong vs SOCK_SEQPACKET",
	  .kipc = BENCH_SIDE("kipc_mq_send/receive", kipc_pp),
	  .peer = BENCH_SIDE("socketpair SEQPACKET", seqpacket_pp) },
	{ .group = "mq", .name = "64-byte ping-pong vs the cache-line floor",
	  .kipc = BENCH_SIDE("kipc_mq_send/receive", kipc_pp), .peer = BENCH_SIDE_LINE_FLOOR },
};
BENCH_TABLE(mq_rows);
