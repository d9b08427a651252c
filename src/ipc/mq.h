/* SPDX-License-Identifier: MIT */
/*
 * POSIX message queue files: the meta that mq.c, the object check and the
 * tool share.  The heap of slot numbers follows the struct; the slots are
 * the data area.
 */
#ifndef KIPC_IPC_MQ_H
#define KIPC_IPC_MQ_H

#include <stdint.h>
#include <kipc/mutex.h>
#include "ipc/object.h"

struct kipc__mq_meta {
	uint32_t maxmsg, msgsize;	/* fixed at creation, checked at open */
	uint32_t slot_size;
	uint32_t heap_n;		/* messages in the heap */
	struct kipc_mutex lock;
	uint32_t curmsgs;		/* = heap_n, read without the lock */
	uint32_t free_head;		/* free slots, linked through slot.next */
	uint64_t next_seq;		/* send order */
	uint64_t qsize;			/* bytes of all messages */
	uint32_t rseq, rsleep;		/* futex and count: waiting receivers */
	uint32_t sseq, ssleep;		/* the same for senders */
	/* The notification registration (one process). */
	uint32_t nt_registered;
	uint32_t nt_pid;
	uint64_t nt_start;
	int32_t nt_notify, nt_signo;
	uint64_t nt_value;
	uint32_t nt_uid;
	uint32_t nt_gen;		/* changes with every (un)registration */
	uint32_t nt_fired;		/* futex: SIGEV_THREAD waiters */
	uint32_t nt_fired_gen;		/* the registration that fired */
	uint32_t reserved;
	/*
	 * Receivers asleep, by thread: "no receiver is blocked" (when a
	 * notification fires) must not count one killed in its sleep.
	 */
	struct {
		uint32_t tid;		/* 0: free */
		uint32_t reserved;
		uint64_t start;
	} rwait[16];
	uint32_t heap[];
};

struct kipc__desc;
int kipc__mq_describe(struct kipc__obj *obj, struct kipc__desc *d);

#endif
