/* SPDX-License-Identifier: MIT */
/*
 * The Boost.Interprocess peer of the message queue rows (boost_mq.cc,
 * C++): one-way throughput with senders processes, and a ping-pong round
 * trip, on queues of depth 10 and messages of size bytes.
 */
#ifndef KIPC_BENCH_BOOST_MQ_H
#define KIPC_BENCH_BOOST_MQ_H

#include <stddef.h>
#include "bench.h"

struct bench_result boost_mq_one_way(const struct bench_run *run, size_t size,
				     unsigned int senders);
struct bench_result boost_mq_ping_pong(const struct bench_run *run, size_t size);

#endif
