/* SPDX-License-Identifier: MIT */
/*
 * Tasks, as SPEC section 1 defines them: a task is a thread, named by its
 * TID; a thread is alive while /proc knows a running (not zombie) thread
 * with that TID and the start time it had, so a recycled TID is never
 * mistaken for the thread that died.
 *
 *   kipc__gettid()          this thread's TID, cached (a syscall only once
 *                           per thread, and again in a fork child)
 *   kipc__thread_start()    this thread's start time (clock ticks since boot)
 *   kipc__task_alive(tid, start)
 *                           1 if that thread lives, 0 if it is gone; a start
 *                           of 0 means "unknown", and only absence counts;
 *                           1 also when /proc cannot tell (no descriptor
 *                           left, no permission): a live task must never be
 *                           taken for dead.  Tasks must be visible in this
 *                           process's /proc (same PID namespace, no hidepid).
 */
#ifndef KIPC_TASK_H
#define KIPC_TASK_H

#include <stdint.h>

extern __thread uint32_t kipc__tid_cache __attribute__((tls_model("initial-exec")));

uint32_t kipc__gettid_slow(void);

static inline uint32_t kipc__gettid(void)
{
	uint32_t tid = kipc__tid_cache;

	return tid ? tid : kipc__gettid_slow();
}

extern __thread uint64_t kipc__start_cache __attribute__((tls_model("initial-exec")));

uint64_t kipc__thread_start_slow(void);

/* Inline: a process-shared mutex notes its owner's start time at each lock. */
static inline uint64_t kipc__thread_start(void)
{
	uint64_t start = kipc__start_cache;

	return start ? start : kipc__thread_start_slow();
}

int kipc__task_alive(uint32_t tid, uint64_t start);

/*
 * Processes, the unit of IPC recovery: a PID and the start time of its
 * main thread.  A killed process is dead from the instant it becomes a
 * zombie, so recovery need not wait for its parent to reap it.
 *
 *   kipc__proc_self()            this process (cached; recomputed after fork)
 *   kipc__task_forget()          in a fork child handler that needs the
 *                                child's identity: call first (idempotent)
 *   kipc__proc_alive(pid, start) 1 while that process lives, 0 once it has
 *                                died or its PID names another process
 */
struct kipc__proc {
	uint32_t pid;
	uint64_t start;
};

const struct kipc__proc *kipc__proc_self(void);
void kipc__task_forget(void);
int kipc__proc_alive(uint32_t pid, uint64_t start);

#endif
