/* SPDX-License-Identifier: MIT */
/*
 * kipc/mq.h - POSIX message queues on shared memory.
 *
 * The calls of <mqueue.h>, with the system's struct mq_attr and struct
 * sigevent, so that a program switches with renaming defines alone:
 *
 *   #define mqd_t          kipc_mqd_t
 *   #define mq_open        kipc_mq_open
 *   #define mq_close       kipc_mq_close         (and so on for the rest)
 *
 *   kipc_mq_open(name, oflag[, mode, attr])   a descriptor, or -1: O_RDONLY,
 *                      O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_NONBLOCK; attr
 *                      NULL gives 10 messages of 8192 bytes; at most
 *                      KIPC_MQ_MAXMSG messages of KIPC_MQ_MSGSIZE_MAX bytes
 *   kipc_mq_send / kipc_mq_timedsend(q, msg, len, prio[, abs])
 *   kipc_mq_receive / kipc_mq_timedreceive(q, buf, len, &prio[, abs])
 *                      highest priority first, FIFO within a priority;
 *                      abs is an absolute CLOCK_REALTIME time
 *   kipc_mq_notify(q, sev)   SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_NONE, or
 *                      NULL to unregister; one process at a time (EBUSY)
 *   kipc_mq_getattr / kipc_mq_setattr   setattr changes only O_NONBLOCK
 *   kipc_mq_close(q), kipc_mq_unlink(name)
 *
 * Each returns what the system call returns, -1 with errno on error, with
 * the errors of the man pages in the order the kernel checks them.  A
 * process killed with -9 in the middle of a send or receive loses no
 * message already sent and duplicates none.  See docs/mq.md.
 */
#ifndef KIPC_MQ_H
#define KIPC_MQ_H

#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>
#include <kipc/ipc.h>

typedef int kipc_mqd_t;

#define KIPC_MQ_PRIO_MAX	32768	/* priorities 0 .. KIPC_MQ_PRIO_MAX - 1 */
#define KIPC_MQ_MAXMSG		65536	/* the kernel's HARD_MSGMAX */
#define KIPC_MQ_MSGSIZE_MAX	(16 << 20)	/* the kernel's HARD_MSGSIZEMAX */

kipc_mqd_t kipc_mq_open(const char *name, int oflag, ...);
int kipc_mq_close(kipc_mqd_t q);
int kipc_mq_unlink(const char *name);
int kipc_mq_send(kipc_mqd_t q, const char *msg, size_t len, unsigned int prio);
int kipc_mq_timedsend(kipc_mqd_t q, const char *msg, size_t len, unsigned int prio,
		      const struct timespec *abs_timeout);
ssize_t kipc_mq_receive(kipc_mqd_t q, char *buf, size_t len, unsigned int *prio);
ssize_t kipc_mq_timedreceive(kipc_mqd_t q, char *buf, size_t len, unsigned int *prio,
			     const struct timespec *abs_timeout);
int kipc_mq_notify(kipc_mqd_t q, const struct sigevent *sev);
int kipc_mq_getattr(kipc_mqd_t q, struct mq_attr *attr);
int kipc_mq_setattr(kipc_mqd_t q, const struct mq_attr *attr, struct mq_attr *old);

#endif /* KIPC_MQ_H */
