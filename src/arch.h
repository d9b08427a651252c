/* SPDX-License-Identifier: MIT */
/*
 * Private per-architecture hooks: kipc__cpu_relax() for spin loops and
 * kipc__cycles(), a cheap monotonic counter for bounding spins.  The public
 * barriers live in <kipc/barrier.h> because callers' inline code needs them.
 */
#ifndef KIPC_ARCH_H
#define KIPC_ARCH_H

#if defined(__x86_64__)
#include "arch/x86_64.h"
#elif defined(__aarch64__)
#include "arch/arm64.h"
#else
#include "arch/generic.h"
#endif

#endif
