/* SPDX-License-Identifier: MIT */
/* The segment sysv_server and sysv_client share. */
#ifndef SYSV_MSG_H
#define SYSV_MSG_H

#define MSG_PROJ 'S'

enum { MSG_EMPTY, MSG_READY, MSG_WRITTEN, MSG_DONE };

struct msg {
	volatile int state; /* the server and the client take turns: see the enum */
	char text[1020];
};

#endif
