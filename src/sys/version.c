/* SPDX-License-Identifier: MIT */
#include "shmkit.h"
#include "internal/compiler.h"

#define SK_STR_(x) #x
#define SK_STR(x)  SK_STR_(x)

SK_EXPORT const char *shmkit_version(void)
{
	return SK_STR(SHMKIT_VERSION_MAJOR) "." SK_STR(SHMKIT_VERSION_MINOR) "." SK_STR(
	    SHMKIT_VERSION_PATCH);
}
