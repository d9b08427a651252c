/* SPDX-License-Identifier: MIT */
/*
 * kipc/irqflags.h - "interrupts" are asynchronous signals.
 *
 * In user space the thing that interrupts a thread at any instant and runs
 * code on its stack is a signal handler, so kipc's local_irq_* block and
 * unblock signals on the calling thread.  Every asynchronous signal is
 * blocked; the synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
 * SIGSYS) are faults of the thread itself, not interrupts, and stay open, as
 * exceptions do in the kernel.  SIGKILL and SIGSTOP cannot be blocked.
 *
 *   unsigned long flags;
 *   kipc_local_irq_save(flags);     block; flags = the previous mask
 *   kipc_local_irq_restore(flags);  set exactly the saved mask again
 *   kipc_local_irq_disable();       block
 *   kipc_local_irq_enable();        unblock all asynchronous signals
 *   kipc_irqs_disabled()            true if every asynchronous signal is blocked
 *
 * flags holds the thread's 64-bit signal mask, bit n-1 for signal n, as the
 * kernel's sigset does.
 */
#ifndef KIPC_IRQFLAGS_H
#define KIPC_IRQFLAGS_H

#include <stdbool.h>

unsigned long kipc_arch_local_irq_save(void);
void kipc_arch_local_irq_restore(unsigned long flags);
void kipc_local_irq_disable(void);
void kipc_local_irq_enable(void);
bool kipc_irqs_disabled(void);

#define kipc_local_irq_save(flags)    ((flags) = kipc_arch_local_irq_save())
#define kipc_local_irq_restore(flags) kipc_arch_local_irq_restore(flags)

#endif /* KIPC_IRQFLAGS_H */
