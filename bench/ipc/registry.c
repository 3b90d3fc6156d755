/* SPDX-License-Identifier: MIT */
/*
 * The transports of this run: the built-in ones (BT_REGISTER puts them into the section
 * bt_transports of the executable) and those of the plugins next to the executable,
 * shmkit-bench-NAME.so, each built only where its library's -dev package was present and
 * loaded at run time, so that a missing library is a skipped row, never a harness that
 * cannot start.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

extern const struct bt_transport *const __start_bt_transports[] __attribute__((weak));
extern const struct bt_transport *const __stop_bt_transports[] __attribute__((weak));

/* The plugins a full build has, and the Debian package each needs at build time: named in
 * the skip reason when one is missing. Other plugins are found all the same. */
static const struct {
	const char *name, *package;
} plugins[] = {
    {"ck", "libck-dev"},
    {"iceoryx", "libiceoryx-binding-c-dev"},
    {"zmq", "libzmq3-dev"},
    {"nng", "libnng-dev"},
};

enum { MAX_ENTRIES = 128 };
static struct bt_entry entries[MAX_ENTRIES];
static size_t nentries;
static char self_exe[PATH_MAX], self_dir[PATH_MAX];

const char *bt_self_exe(void)
{
	if (!self_exe[0]) {
		ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
		if (n > 0)
			self_exe[n] = '\0';
	}
	return self_exe;
}

const char *bt_self_dir(void)
{
	if (!self_dir[0]) {
		snprintf(self_dir, sizeof(self_dir), "%s", bt_self_exe());
		char *slash = strrchr(self_dir, '/');
		if (slash)
			*slash = '\0';
	}
	return self_dir;
}

static void add(const struct bt_transport *t, const char *plugin, const char *skip)
{
	if (nentries == MAX_ENTRIES)
		return;
	struct bt_entry *e = &entries[nentries++];
	e->t = t;
	e->plugin = plugin;
	snprintf(e->skip, sizeof(e->skip), "%s", skip ? skip : "");
}

static void load_plugin(const char *path, const char *name)
{
	char why[256];
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	const struct bt_plugin *p = h ? dlsym(h, BT_PLUGIN_SYMBOL) : NULL;
	if (!p) {
		snprintf(why, sizeof(why), "cannot load its library: %s", dlerror());
		add(NULL, name, why);
		return;
	}
	if (p->abi != BT_ABI) {
		snprintf(why, sizeof(why), "%s: interface version %d, the harness has %d", path,
		         p->abi, BT_ABI);
		add(NULL, name, why);
		return;
	}
	for (size_t i = 0; i < p->n; i++)
		add(p->list[i], name, NULL);
}

/* Every shmkit-bench-NAME.so beside the executable (or only want's). */
static void load_plugins(const char *want)
{
	char pattern[PATH_MAX + 64];
	snprintf(pattern, sizeof(pattern), "%s/shmkit-bench-%s.so", bt_self_dir(),
	         want ? want : "*");
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1 + strlen("shmkit-bench-");
		char *name = strndup(base, strlen(base) - strlen(".so"));
		if (name)
			load_plugin(g.gl_pathv[i], name); /* the name lives as long as the run */
	}
	globfree(&g);
}

static bool loaded(const char *plugin)
{
	for (size_t i = 0; i < nentries; i++)
		if (entries[i].plugin && !strcmp(entries[i].plugin, plugin))
			return true;
	return false;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct bt_entry *x = a, *y = b;
	int ox = x->t ? x->t->order : BT_ORDER_PEER + 99,
	    oy = y->t ? y->t->order : BT_ORDER_PEER + 99;
	if (ox != oy)
		return ox - oy;
	const char *nx = x->t ? x->t->name : x->plugin, *ny = y->t ? y->t->name : y->plugin;
	return strcmp(nx, ny);
}

int bt_registry_load(const char *want_plugin)
{
	for (const struct bt_transport *const *t = __start_bt_transports;
	     t && t < __stop_bt_transports; t++)
		add(*t, NULL, NULL);
	load_plugins(want_plugin);
	char why[256];
	for (size_t i = 0; !want_plugin && i < sizeof(plugins) / sizeof(plugins[0]); i++)
		if (!loaded(plugins[i].name)) {
			snprintf(why, sizeof(why), "not built: %s was not installed at build time",
			         plugins[i].package);
			add(NULL, plugins[i].name, why);
		}
	qsort(entries, nentries, sizeof(entries[0]), cmp_entry);
	return 0;
}

size_t bt_registry_count(void)
{
	return nentries;
}

struct bt_entry *bt_registry_get(size_t i)
{
	return i < nentries ? &entries[i] : NULL;
}

struct bt_entry *bt_registry_find(const char *name)
{
	for (size_t i = 0; i < nentries; i++)
		if (entries[i].t && !strcmp(entries[i].t->name, name))
			return &entries[i];
	return NULL;
}

bool bt_entry_matches(const struct bt_entry *e, const char *pattern)
{
	if (e->t)
		return fnmatch(pattern, e->t->name, 0) == 0;
	/* A plugin that did not load stands for its transports: "iceoryx-busy" names it too. */
	size_t n = strlen(e->plugin);
	return fnmatch(pattern, e->plugin, 0) == 0 ||
	       (!strncmp(pattern, e->plugin, n) && pattern[n] == '-');
}
