// SPDX-License-Identifier: MIT
/*
 * Boost.Interprocess message_queue, the user-space peer of the message
 * queue rows (bench/mq.c): the same one-way and ping-pong measurements on
 * a queue of the same depth and message size.  Built only when the
 * headers (Debian libboost-dev) are present; see the Makefile.
 */
#include <boost/interprocess/ipc/message_queue.hpp>
#include <cstdio>
#include <unistd.h>

extern "C" {
#include "bench.h"
#include "boost_mq.h"
}

namespace bip = boost::interprocess;

namespace {

const unsigned int depth = 10;

struct names {
	char q[2][64];

	names()
	{
		for (int i = 0; i < 2; i++) {
			snprintf(q[i], sizeof(q[i]), "kipc-bench-boost-%d-%d", (int)getpid(), i);
			bip::message_queue::remove(q[i]);
		}
	}
	~names()
	{
		for (int i = 0; i < 2; i++)
			bip::message_queue::remove(q[i]);
	}
};

} // namespace

extern "C" struct bench_result boost_mq_one_way(const struct bench_run *run, size_t size,
						unsigned int senders)
{
	names n;
	char buf[4096] = { 0 };
	bip::message_queue::size_type got;
	unsigned int prio;
	uint64_t t0, t1;
	pid_t pids[4];
	bool ok = true;

	try {
		bip::message_queue q(bip::create_only, n.q[0], depth, size);

		bench_pin(0);
		t0 = bench_now_ns();
		for (unsigned int s = 0; s < senders; s++) {
			pids[s] = bench_fork(1);
			if (pids[s] == 0) {
				uint64_t count = run->iters / senders + (s < run->iters % senders);

				try {
					bip::message_queue mine(bip::open_only, n.q[0]);

					for (uint64_t i = 0; i < count; i++)
						mine.send(buf, size, 0);
				} catch (...) {
					_exit(1);
				}
				_exit(0);
			}
		}
		for (uint64_t i = 0; ok && i < run->iters; i++) {
			q.receive(buf, size, got, prio);
			ok = got == size;
		}
		t1 = bench_now_ns();
		bench_unpin();
	} catch (const std::exception &e) {
		fprintf(stderr, "kipc-bench: boost message_queue: %s\n", e.what());
		return bench_ns(-1);
	}
	for (unsigned int s = 0; s < senders; s++)
		ok = bench_reap(pids[s], ok) && ok;
	if (!ok)
		return bench_ns(-1);
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}

extern "C" struct bench_result boost_mq_ping_pong(const struct bench_run *run, size_t size)
{
	names n;
	char buf[4096] = { 0 };
	bip::message_queue::size_type got;
	unsigned int prio;
	uint64_t t0, t1;
	pid_t pid;

	try {
		bip::message_queue there(bip::create_only, n.q[0], depth, size);
		bip::message_queue back(bip::create_only, n.q[1], depth, size);

		pid = bench_fork(1);
		if (pid == 0) {
			try {
				for (uint64_t i = 0; i < run->iters + 1; i++) {
					there.receive(buf, size, got, prio);
					back.send(buf, size, 0);
				}
			} catch (...) {
				_exit(1);
			}
			_exit(0);
		}
		bench_pin(0);
		there.send(buf, size, 0);
		back.receive(buf, size, got, prio);
		t0 = bench_now_ns();
		for (uint64_t i = 0; i < run->iters; i++) {
			there.send(buf, size, 0);
			back.receive(buf, size, got, prio);
		}
		t1 = bench_now_ns();
		bench_unpin();
	} catch (const std::exception &e) {
		fprintf(stderr, "kipc-bench: boost message_queue: %s\n", e.what());
		return bench_ns(-1);
	}
	if (!bench_reap(pid, true))
		return bench_ns(-1);
	return bench_ns((double)(t1 - t0) / (double)run->iters);
}
