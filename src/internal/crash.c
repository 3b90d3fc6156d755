/* SPDX-License-Identifier: MIT */
/* Crash-point injection (see crash.h). */
#include <signal.h>

#include "internal/crash.h"

int sk_crash_countdown;

void sk_crash_now(void)
{
	raise(SIGKILL);
}
