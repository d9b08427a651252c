// SPDX-License-Identifier: MIT
/*
 * kipc mkqueue, kipc send, kipc receive: POSIX message queues of the
 * namespace from the shell.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <kipc/mq.h>
#include "tool.h"

static bool number(const char *s, long min, long max, long *v, int base)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, base);
	return *s && !*end && !errno && *v >= min && *v <= max;
}

static int bad(const char *verb, const char *what)
{
	fprintf(stderr, "kipc %s: %s (see kipc %s --help)\n", verb, what, verb);
	return EXIT_USAGE;
}

static int open_error(const char *verb, const char *name)
{
	int err = errno;

	fprintf(stderr, "kipc %s: %s: %s\n", verb, name, strerror(err));
	return err == EINVAL || err == ENAMETOOLONG ? EXIT_USAGE : EXIT_OBJECT;
}

int cmd_mkqueue(int argc, char **argv)
{
	struct mq_attr a = { .mq_maxmsg = 10, .mq_msgsize = 8192 };
	long mode = 0666, v;
	int opt, q;

	if (wants_help(argc, argv)) {
		printf("usage: kipc mkqueue [-m MODE] [-n MAXMSG] [-s MSGSIZE] /NAME\n"
		       "Make a POSIX message queue of MAXMSG messages (default 10) of at most\n"
		       "MSGSIZE bytes (default 8192), mode MODE (octal, default 0666) less the\n"
		       "umask.  Exit 0; 1 if it exists or cannot be made; 2 for bad usage.\n");
		return 0;
	}
	optind = 1;
	opterr = 0;
	while ((opt = getopt(argc, argv, "m:n:s:")) != -1) {
		switch (opt) {
		case 'm':
			if (!number(optarg, 0, 0777, &mode, 8))
				return bad("mkqueue", "-m takes an octal mode");
			break;
		case 'n':
			if (!number(optarg, 1, KIPC_MQ_MAXMSG, &v, 10))
				return bad("mkqueue", "-n takes a message count");
			a.mq_maxmsg = v;
			break;
		case 's':
			if (!number(optarg, 1, KIPC_MQ_MSGSIZE_MAX, &v, 10))
				return bad("mkqueue", "-s takes a message size");
			a.mq_msgsize = v;
			break;
		default:
			return bad("mkqueue", "unknown option");
		}
	}
	if (optind != argc - 1)
		return bad("mkqueue", "one queue name, /NAME");
	q = kipc_mq_open(argv[optind], O_RDWR | O_CREAT | O_EXCL, (mode_t)mode, &a);
	if (q < 0)
		return open_error("mkqueue", argv[optind]);
	kipc_mq_close(q);
	return 0;
}

int cmd_send(int argc, char **argv)
{
	static char stdin_msg[1 << 16];
	struct mq_attr a;
	const char *msg;
	size_t len;
	long prio = 0;
	int opt, q, nonblock = 0, rc = 0;

	if (wants_help(argc, argv)) {
		printf("usage: kipc send [-p PRIO] [-n] /NAME [MESSAGE]\n"
		       "Send MESSAGE (or standard input, up to 64 KiB) to the queue /NAME with\n"
		       "priority PRIO (0-32767, default 0); waits while the queue is full,\n"
		       "unless -n.  Exit 0; 1 if the queue is missing, full (-n) or the message\n"
		       "too long for it; 2 for bad usage.\n");
		return 0;
	}
	optind = 1;
	opterr = 0;
	while ((opt = getopt(argc, argv, "p:n")) != -1) {
		if (opt == 'p' && number(optarg, 0, KIPC_MQ_PRIO_MAX - 1, &prio, 10))
			continue;
		if (opt == 'n') {
			nonblock = O_NONBLOCK;
			continue;
		}
		return bad("send", opt == 'p' ? "-p takes a priority, 0-32767" : "unknown option");
	}
	if (optind != argc - 1 && optind != argc - 2)
		return bad("send", "a queue name and at most one message");
	if (optind == argc - 2) {
		msg = argv[optind + 1];
		len = strlen(msg);
	} else {
		len = fread(stdin_msg, 1, sizeof(stdin_msg), stdin);
		msg = stdin_msg;
	}
	q = kipc_mq_open(argv[optind], O_WRONLY | nonblock);
	if (q < 0)
		return open_error("send", argv[optind]);
	if (kipc_mq_send(q, msg, len, (unsigned int)prio) < 0) {
		int err = errno;

		kipc_mq_getattr(q, &a);
		if (err == EMSGSIZE)
			fprintf(stderr, "kipc send: %s: message of %zu bytes, the queue takes %ld\n",
				argv[optind], len, a.mq_msgsize);
		else
			fprintf(stderr, "kipc send: %s: %s\n", argv[optind], strerror(err));
		rc = EXIT_OBJECT;
	}
	kipc_mq_close(q);
	return rc;
}

int cmd_receive(int argc, char **argv)
{
	struct mq_attr a;
	unsigned int prio;
	int opt, q, nonblock = 0, show_prio = 0, rc = 0;
	char *buf;
	ssize_t n;

	if (wants_help(argc, argv)) {
		printf("usage: kipc receive [-p] [-n] /NAME\n"
		       "Receive the queue's highest-priority message and write it to standard\n"
		       "output; -p prefixes it with its priority and a tab and ends it with a\n"
		       "newline.  Waits for a message unless -n.  Exit 0; 1 if the queue is\n"
		       "missing or empty (-n); 2 for bad usage.\n");
		return 0;
	}
	optind = 1;
	opterr = 0;
	while ((opt = getopt(argc, argv, "pn")) != -1) {
		if (opt == 'p')
			show_prio = 1;
		else if (opt == 'n')
			nonblock = O_NONBLOCK;
		else
			return bad("receive", "unknown option");
	}
	if (optind != argc - 1)
		return bad("receive", "one queue name, /NAME");
	q = kipc_mq_open(argv[optind], O_RDONLY | nonblock);
	if (q < 0)
		return open_error("receive", argv[optind]);
	kipc_mq_getattr(q, &a);
	buf = malloc((size_t)a.mq_msgsize);
	n = buf ? kipc_mq_receive(q, buf, (size_t)a.mq_msgsize, &prio) : -1;
	if (n < 0) {
		fprintf(stderr, "kipc receive: %s: %s\n", argv[optind],
			errno == EAGAIN ? "no message" : strerror(errno));
		rc = EXIT_OBJECT;
	} else {
		if (show_prio)
			printf("%u\t", prio);
		fwrite(buf, 1, (size_t)n, stdout);
		if (show_prio)
			printf("\n");
	}
	free(buf);
	kipc_mq_close(q);
	return rc;
}
