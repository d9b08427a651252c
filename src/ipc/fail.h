/* SPDX-License-Identifier: MIT */
/*
 * The POSIX convention at the API's edge: the library works with -errno
 * values inside and, where a call fails, sets errno and returns -1.
 *
 *   return kipc__fail(-EINVAL);
 */
#ifndef KIPC_IPC_FAIL_H
#define KIPC_IPC_FAIL_H

#include <errno.h>

static inline int kipc__fail(int err)
{
	errno = -err;
	return -1;
}

#endif
