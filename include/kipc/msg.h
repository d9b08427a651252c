/* SPDX-License-Identifier: MIT */
/*
 * kipc/msg.h - System V message queues on shared memory.
 *
 * The calls and structures of <sys/msg.h>, so that renaming defines switch
 * a program (#define msgget kipc_msgget, msgsnd, msgrcv, msgctl):
 *
 *   kipc_msgget(key, msgflg)                  id, or -1
 *   kipc_msgsnd(id, msgp, msgsz, msgflg)      0, or -1 (IPC_NOWAIT: EAGAIN)
 *   kipc_msgrcv(id, msgp, msgsz, msgtyp, msgflg)
 *                      the text's length, or -1: msgtyp 0 the first message,
 *                      > 0 the first of that type (of any other with
 *                      MSG_EXCEPT), < 0 the first of the lowest type not
 *                      above |msgtyp|; MSG_NOERROR truncates, else E2BIG;
 *                      IPC_NOWAIT: ENOMSG
 *   kipc_msgctl(id, cmd, buf)  IPC_STAT, IPC_SET (permissions, msg_qbytes),
 *                      IPC_RMID (waiters wake with EIDRM)
 *
 * Limits: messages of at most KIPC_MSGMAX bytes, at most KIPC_MSGMNB bytes
 * and KIPC_MSG_MAXQNUM messages per queue (msg_qbytes may be lowered, not
 * raised above KIPC_MSGMNB: EPERM, as for an unprivileged caller).
 * MSG_COPY is not provided (ENOSYS).  See docs/sysv.md.
 */
#ifndef KIPC_MSG_H
#define KIPC_MSG_H

#include <stddef.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>

#define KIPC_MSGMAX		8192	/* the kernel's default MSGMAX */
#define KIPC_MSGMNB		16384	/* the kernel's default MSGMNB */
#define KIPC_MSG_MAXQNUM	1024

/* What msgp points to: a long type, then the text. */
struct kipc_msgbuf_hdr {
	long mtype;
};

int kipc_msgget(key_t key, int msgflg);
int kipc_msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg);
ssize_t kipc_msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg);
int kipc_msgctl(int msqid, int cmd, struct msqid_ds *buf);

#endif /* KIPC_MSG_H */
