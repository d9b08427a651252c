/* SPDX-License-Identifier: MIT */
/*
 * kipc/sem.h - System V semaphore sets on shared memory.
 *
 * The calls and structures of <sys/sem.h> (struct sembuf, struct semid_ds,
 * the caller's union semun), so that renaming defines switch a program:
 *
 *   kipc_semget(key, nsems, semflg)          id, or -1
 *   kipc_semop(id, sops, nsops)              0, or -1: the operations apply
 *                      all together or not at all; a decrement waits while
 *                      it would go below zero, a 0 waits for zero;
 *                      IPC_NOWAIT (EAGAIN), SEM_UNDO (reverted when the
 *                      process exits, normally or killed), ERANGE past
 *                      KIPC_SEMVMX; waiters wake with EIDRM on IPC_RMID
 *   kipc_semtimedop(id, sops, nsops, timeout)   the same, for at most the
 *                      relative timeout (EAGAIN when it passes)
 *   kipc_semctl(id, semnum, cmd, ...)        GETVAL, SETVAL, GETALL, SETALL,
 *                      GETPID, GETNCNT, GETZCNT, IPC_STAT, IPC_SET, IPC_RMID
 *
 * An uncontended semop() makes no system call.  Limits: KIPC_SEMMSL
 * semaphores per set, KIPC_SEMOPM operations per call (E2BIG), undo
 * records of KIPC_SEM_UNDO_PROCS processes per set at once (ENOSPC).
 * See docs/sysv.md.
 */
#ifndef KIPC_SEM_H
#define KIPC_SEM_H

#include <stddef.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/types.h>
#include <time.h>

#define KIPC_SEMMSL		1024	/* semaphores per set */
#define KIPC_SEMOPM		500	/* operations per semop, the kernel's */
#define KIPC_SEMVMX		32767	/* largest value, the kernel's */
#define KIPC_SEM_UNDO_PROCS	64	/* processes with SEM_UNDO per set */

int kipc_semget(key_t key, int nsems, int semflg);
int kipc_semop(int semid, struct sembuf *sops, size_t nsops);
int kipc_semtimedop(int semid, struct sembuf *sops, size_t nsops,
		    const struct timespec *timeout);
int kipc_semctl(int semid, int semnum, int cmd, ...);

#endif /* KIPC_SEM_H */
