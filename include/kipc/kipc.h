/* SPDX-License-Identifier: MIT */
/*
 * kipc/kipc.h - all of kipc: the kernel's synchronization primitives and
 * IPC mechanisms in user space.  Every name is kipc_ / KIPC_ prefixed;
 * include <kipc/linux.h> for the kernel's own names.
 */
#ifndef KIPC_KIPC_H
#define KIPC_KIPC_H

#include <kipc/compiler.h>
#include <kipc/barrier.h>
#include <kipc/atomic.h>
#include <kipc/bitops.h>
#include <kipc/irqflags.h>
#include <kipc/spinlock.h>
#include <kipc/rwlock.h>
#include <kipc/mutex.h>
#include <kipc/jiffies.h>
#include <kipc/semaphore.h>
#include <kipc/completion.h>
#include <kipc/ww_mutex.h>
#include <kipc/list.h>
#include <kipc/rcu.h>
#include <kipc/rculist.h>
#include <kipc/ipc.h>
#include <kipc/shm.h>
#include <kipc/pipe.h>
#include <kipc/mq.h>
#include <kipc/msg.h>
#include <kipc/sem.h>

#endif /* KIPC_KIPC_H */
