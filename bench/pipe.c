// SPDX-License-Identifier: MIT
/*
 * Pipe rows: kipc pipes and socket pairs beside the kernel's, a writer
 * process and a reader process pinned to the two CPUs, doing the same
 * work through the same calls.
 *
 *   throughput   the writer writes iters chunks; the reader reads them
 *                all and acknowledges; time per chunk
 *   ping-pong    one byte there and back, iters times; time per round trip
 *                (compare with the floor rows' cache-line round trip)
 *
 * kipc's objects (anonymous, memfd) need no namespace.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <kipc/pipe.h>
#include "bench.h"

struct chan_ops {
	/* fds[0] is read by the child, fds[1] written by the parent; for
	 * socket pairs both are ends of one two-way channel. */
	int (*make)(int fds[2]);
	ssize_t (*rd)(int fd, void *buf, size_t n);
	ssize_t (*wr)(int fd, const void *buf, size_t n);
	int (*cl)(int fd);
	bool duplex;
};

static int kernel_sock(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
}

static int kipc_sock(int fds[2])
{
	return kipc_socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
}

static const struct chan_ops kipc_pipe_ops = { kipc_pipe, kipc_read, kipc_write, kipc_close, false };
static const struct chan_ops kernel_pipe_ops = { pipe, read, write, close, false };
static const struct chan_ops kipc_sock_ops = { kipc_sock, kipc_read, kipc_write, kipc_close, true };
static const struct chan_ops kernel_sock_ops = { kernel_sock, read, write, close, true };

struct pipe_case {
	const struct chan_ops *kipc, *peer;
	size_t chunk;
};

static bool read_full(const struct chan_ops *o, int fd, char *buf, size_t n)
{
	while (n) {
		ssize_t r = o->rd(fd, buf, n);

		if (r <= 0)
			return false;
		n -= (size_t)r;
	}
	return true;
}

static bool write_full(const struct chan_ops *o, int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t r = o->wr(fd, buf, n);

		if (r <= 0)
			return false;
		buf += r;
		n -= (size_t)r;
	}
	return true;
}



static struct bench_result throughput(const struct bench_run *run, const struct chan_ops *o,
				      size_t chunk)
{
	int data[2], ack[2];
	uint64_t t0, t1;
	char *buf = calloc(1, chunk);
	bool ok;
	pid_t pid;

	if (!buf || o->make(data) < 0 || pipe(ack) < 0)
		return bench_failed("pipe");
	pid = bench_fork(1);
	if (pid < 0)
		return bench_failed("fork");
	if (pid == 0) {
		uint64_t total = (uint64_t)chunk * run->iters;

		o->cl(data[1]);
		while (total) {
			ssize_t r = o->rd(data[0], buf, chunk);

			if (r <= 0)
				_exit(1);
			total -= (uint64_t)r;
		}
		_exit(write(ack[1], "", 1) == 1 ? 0 : 1);
	}
	o->cl(data[0]);
	bench_pin(0);
	t0 = bench_now_ns();
	ok = true;
	for (uint64_t i = 0; ok && i < run->iters; i++)
		ok = write_full(o, data[1], buf, chunk);
	ok = ok && read(ack[0], buf, 1) == 1;
	t1 = bench_now_ns();
	bench_unpin();
	o->cl(data[1]);
	close(ack[0]);
	close(ack[1]);
	free(buf);
	if (!bench_reap(pid, ok))
		return bench_failed("the reader failed");
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

static struct bench_result pingpong(const struct bench_run *run, const struct chan_ops *o)
{
	int there[2], back[2];
	uint64_t t0, t1;
	char c = 0;
	bool ok = true;
	pid_t pid;

	if (o->make(there) < 0 || (!o->duplex && o->make(back) < 0))
		return bench_failed("pipe");
	if (o->duplex) {
		/* One two-way channel: the child answers on its own end. */
		back[0] = there[1];
		back[1] = there[0];
	}
	pid = bench_fork(1);
	if (pid < 0)
		return bench_failed("fork");
	if (pid == 0) {
		for (uint64_t i = 0; i < run->iters + 1; i++)
			if (!read_full(o, there[0], &c, 1) || !write_full(o, back[1], &c, 1))
				_exit(1);
		_exit(0);
	}
	bench_pin(0);
	/* One warm-up exchange: both sides running, rings mapped. */
	ok = write_full(o, there[1], &c, 1) && read_full(o, back[0], &c, 1);
	t0 = bench_now_ns();
	for (uint64_t i = 0; ok && i < run->iters; i++)
		ok = write_full(o, there[1], &c, 1) && read_full(o, back[0], &c, 1);
	t1 = bench_now_ns();
	bench_unpin();
	o->cl(there[0]);
	o->cl(there[1]);
	if (!o->duplex) {
		o->cl(back[0]);
		o->cl(back[1]);
	}
	if (!bench_reap(pid, ok))
		return bench_failed("the other side failed");
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

static struct bench_result kipc_tp(const struct bench_run *run)
{
	const struct pipe_case *pc = run->arg;

	return throughput(run, pc->kipc, pc->chunk);
}

static struct bench_result peer_tp(const struct bench_run *run)
{
	const struct pipe_case *pc = run->arg;

	return throughput(run, pc->peer, pc->chunk);
}

static struct bench_result kipc_pp(const struct bench_run *run)
{
	const struct pipe_case *pc = run->arg;

	return pingpong(run, pc->kipc);
}

static struct bench_result peer_pp(const struct bench_run *run)
{
	const struct pipe_case *pc = run->arg;

	return pingpong(run, pc->peer);
}

static struct pipe_case pipe_4k = { &kipc_pipe_ops, &kernel_pipe_ops, 4096 };
static struct pipe_case pipe_64k = { &kipc_pipe_ops, &kernel_pipe_ops, 65536 };
static struct pipe_case pipe_vs_sock_4k = { &kipc_pipe_ops, &kernel_sock_ops, 4096 };
static struct pipe_case pipe_vs_sock_64k = { &kipc_pipe_ops, &kernel_sock_ops, 65536 };
static struct pipe_case sock_64k = { &kipc_sock_ops, &kernel_sock_ops, 65536 };
static struct pipe_case pipe_1 = { &kipc_pipe_ops, &kernel_pipe_ops, 1 };
static struct pipe_case sock_1 = { &kipc_sock_ops, &kernel_sock_ops, 1 };

#define TP(name_, klabel, plabel, c) { .group = "pipe", .name = (name_), .arg = &(c), \
	.kipc = BENCH_SIDE(klabel, kipc_tp), .peer = BENCH_SIDE(plabel, peer_tp) }
#define PP(name_, klabel, plabel, c) { .group = "pipe", .name = (name_), .arg = &(c), \
	.kipc = BENCH_SIDE(klabel, kipc_pp), .peer = BENCH_SIDE(plabel, peer_pp) }

static const struct bench_row pipe_rows[] = {
	TP("4 KiB writes, reader on the other CPU", "kipc_pipe", "pipe", pipe_4k),
	TP("64 KiB writes, reader on the other CPU", "kipc_pipe", "pipe", pipe_64k),
	TP("4 KiB writes vs a socket pair", "kipc_pipe", "socketpair STREAM", pipe_vs_sock_4k),
	TP("64 KiB writes vs a socket pair", "kipc_pipe", "socketpair STREAM", pipe_vs_sock_64k),
	TP("socket pair, 64 KiB writes", "kipc_socketpair", "socketpair STREAM", sock_64k),
	PP("1-byte ping-pong round trip", "kipc_pipe", "pipe", pipe_1),
	PP("socket pair 1-byte ping-pong round trip", "kipc_socketpair", "socketpair STREAM",
	   sock_1),
	{ .group = "pipe", .name = "1-byte ping-pong vs the cache-line floor", .arg = &pipe_1,
	  .kipc = BENCH_SIDE("kipc_pipe", kipc_pp), .peer = BENCH_SIDE_LINE_FLOOR },
};
BENCH_TABLE(pipe_rows);
