// SPDX-License-Identifier: MIT
/*
 * Signal masking as interrupt disabling; see <kipc/irqflags.h>.
 *
 * pthread_sigmask, not the raw syscall: glibc keeps its own internal signals
 * (thread cancellation, set*id broadcast) out of any mask a program sets, and
 * blocking them behind its back could stall setuid() in another thread.
 */
#include <signal.h>
#include <string.h>
#include <pthread.h>
#include <kipc/irqflags.h>

/* Every signal but the synchronous faults, built once (a fixed set). */
static sigset_t async_set;
static pthread_once_t async_once = PTHREAD_ONCE_INIT;

static void async_set_init(void)
{
	static const int sync_signals[] = {
		SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
	};

	sigset_t old, blocked;

	sigfillset(&async_set);
	for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
		sigdelset(&async_set, sync_signals[i]);
	/*
	 * Keep only what can really be blocked: the C library and emulators
	 * (qemu-user reserves two real-time signals) refuse some, and
	 * irqs_disabled() must not wait for those.
	 */
	pthread_sigmask(SIG_BLOCK, &async_set, &old);
	pthread_sigmask(SIG_SETMASK, &old, &blocked);
	sigandset(&async_set, &async_set, &blocked);
}

static const sigset_t *async_signals(void)
{
	pthread_once(&async_once, async_set_init);
	return &async_set;
}

/*
 * Linux lays out sigset_t as the kernel does: its first 64 bits are the mask
 * of signals 1..64, bit n-1 for signal n, and signals stop at 64.
 */
static unsigned long mask_to_flags(const sigset_t *set)
{
	unsigned long flags;

	memcpy(&flags, set, sizeof(flags));
	return flags;
}

unsigned long kipc_arch_local_irq_save(void)
{
	sigset_t old;

	pthread_sigmask(SIG_BLOCK, async_signals(), &old);
	return mask_to_flags(&old);
}

void kipc_arch_local_irq_restore(unsigned long flags)
{
	sigset_t set;

	sigemptyset(&set);
	memcpy(&set, &flags, sizeof(flags));
	pthread_sigmask(SIG_SETMASK, &set, NULL);
}

void kipc_local_irq_disable(void)
{
	pthread_sigmask(SIG_BLOCK, async_signals(), NULL);
}

void kipc_local_irq_enable(void)
{
	pthread_sigmask(SIG_UNBLOCK, async_signals(), NULL);
}

bool kipc_irqs_disabled(void)
{
	sigset_t cur;
	const sigset_t *async = async_signals();

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(async, sig) == 1 && sigismember(&cur, sig) != 1 &&
		    sig != SIGKILL && sig != SIGSTOP)
			return false;
	return true;
}
