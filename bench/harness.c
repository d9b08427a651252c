// SPDX-License-Identifier: MIT
/*
 * The helpers measurement functions share: the clock, result constructors and
 * the multi-threaded runner with its start barrier.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <kipc/barrier.h>
#include "arch.h"
#include "bench.h"

/* The CPUs the process may use, as it started, before anything was pinned. */
static cpu_set_t allowed;
static int nallowed;

__attribute__((constructor)) static void bench_cpus_init(void)
{
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
		nallowed = CPU_COUNT(&allowed);
}

void bench_pin(unsigned int idx)
{
	cpu_set_t one;
	int cpu;

	if (!nallowed)
		return;
	idx %= nallowed;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &allowed) && idx-- == 0)
			break;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	/* Not fatal: unpinned figures are only noisier. */
	sched_setaffinity(0, sizeof(one), &one);
}

void bench_unpin(void)
{
	if (nallowed)
		sched_setaffinity(0, sizeof(allowed), &allowed);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct bench_result bench_ns(double ns_per_op)
{
	return (struct bench_result){ ns_per_op, BENCH_NA, BENCH_NA };
}

struct bench_result bench_failed(const char *what)
{
	fprintf(stderr, "kipc-bench: %s: %s\n", what, strerror(errno));
	return bench_ns(-1);
}

/* The start line and finish line, on their own cache line. */
struct bench_gate {
	unsigned int n;
	unsigned int arrived;
	unsigned int finished;
	bool go;
	bool abort;
	uint64_t t0, t1;
	uint64_t ops;
	bench_thread_fn *fn;
	void *arg;
} __attribute__((aligned(64)));

struct bench_worker {
	struct bench_gate *gate;
	unsigned int idx;
	pthread_t tid;
};

static void *bench_worker(void *p)
{
	struct bench_worker *w = p;
	struct bench_gate *g = w->gate;
	unsigned int spins = 0;

	bench_pin(w->idx);
	/*
	 * The last thread to arrive starts the clock and opens the gate, so
	 * the timed section begins only when every thread exists and no
	 * thread creation overlaps it.  The acq_rel counter makes the clock
	 * read follow every arrival; release/acquire on go publishes t0.
	 */
	if (__atomic_add_fetch(&g->arrived, 1, __ATOMIC_ACQ_REL) == g->n) {
		g->t0 = bench_now_ns();
		kipc_smp_store_release(&g->go, true);
	}
	while (!kipc_smp_load_acquire(&g->go)) {
		kipc__cpu_relax();
		/* More threads than CPUs: let the late ones run. */
		if (++spins % 1024 == 0)
			sched_yield();
	}
	/* abort is written before go is released, so acquire covers it. */
	if (g->abort)
		return NULL;
	g->fn(g->arg, w->idx, g->ops);
	/* The last to finish stops the clock; the join publishes t1. */
	if (__atomic_add_fetch(&g->finished, 1, __ATOMIC_ACQ_REL) == g->n)
		g->t1 = bench_now_ns();
	return NULL;
}

struct bench_result bench_threads(const struct bench_run *run,
				  bench_thread_fn *fn, void *arg)
{
	unsigned int n = run->threads, i;
	struct bench_gate *g;
	struct bench_worker *w;
	struct bench_result r;
	int err = 0;

	g = aligned_alloc(64, sizeof(*g));
	w = calloc(n, sizeof(*w));
	if (!g || !w) {
		free(g);
		free(w);
		return bench_failed("bench_threads");
	}
	*g = (struct bench_gate){
		.n = n, .fn = fn, .arg = arg,
		.ops = run->iters / n ? run->iters / n : 1,
	};
	for (i = 0; i < n; i++) {
		w[i] = (struct bench_worker){ .gate = g, .idx = i };
		err = pthread_create(&w[i].tid, NULL, bench_worker, &w[i]);
		if (err)
			break;
	}
	if (err) {
		/* Fewer than n arrive, so nobody opens the gate: do it here. */
		g->abort = true;
		kipc_smp_store_release(&g->go, true);
	}
	while (i--)
		pthread_join(w[i].tid, NULL);
	if (err) {
		errno = err;
		r = bench_failed("pthread_create");
	} else {
		r = bench_ns((double)(g->t1 - g->t0) / (double)(g->ops * n));
	}
	free(g);
	free(w);
	return r;
}

pid_t bench_fork(unsigned int cpu)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		/* Never outlive the parent, even one that died before prctl. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		bench_pin(cpu);
	}
	return pid;
}

bool bench_reap(pid_t pid, bool ok)
{
	int status;
	pid_t w;

	if (!ok)
		kill(pid, SIGKILL);
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	return ok && w == pid && WIFEXITED(status) && !WEXITSTATUS(status);
}
