/* SPDX-License-Identifier: MIT */
/*
 * libshmkit-audit.so: the dynamic linker's audit interface (rtld-audit(7), LD_AUDIT), used by
 * `shmkit run` beside the LD_PRELOAD interposer.
 *
 * A library loaded with RTLD_DEEPBIND (PHP loads its extensions so, shmop and sysvshm among
 * them) looks up its symbols in its own dependencies first, so its shmget & co. bind to libc
 * and never reach the preloaded interposer. The dynamic linker asks an auditor about every
 * symbol it binds (la_symbind*): for shmget, shmat, shmdt, shmctl and __shmctl64 defined
 * anywhere but in libshmkit-sysv.so, this auditor answers with libshmkit-sysv.so's definition,
 * as the preload would have given it without RTLD_DEEPBIND. Everything else is bound as usual.
 *
 * An auditor lives in a link map of its own; the interposer's link map pointer, seen in
 * la_objopen, is a handle that dlsym() accepts.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

static struct link_map *interposer;

static const char *const routed[] = {"shmget", "shmat", "shmdt", "shmctl", "__shmctl64"};

static int is_interposer(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strncmp(base, "libshmkit-sysv.so", 17);
}

unsigned la_version(unsigned version)
{
	return version >= LAV_CURRENT ? LAV_CURRENT : version;
}

unsigned la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie)
{
	if (lmid == LM_ID_BASE && map->l_name && is_interposer(map->l_name))
		interposer = map;
	*cookie = (uintptr_t)map;
	return LA_FLG_BINDTO | LA_FLG_BINDFROM;
}

static uintptr_t route(uintptr_t value, uintptr_t *defcook, const char *name)
{
	if (!interposer || !name || *defcook == (uintptr_t)interposer)
		return value;
	for (size_t i = 0; i < sizeof(routed) / sizeof(routed[0]); i++) {
		if (strcmp(name, routed[i]))
			continue;
		void *ours = dlsym(interposer, name);
		return ours ? (uintptr_t)ours : value;
	}
	return value;
}

#if UINTPTR_MAX == 0xffffffffffffffffu
uintptr_t la_symbind64(Elf64_Sym *sym, unsigned ndx, uintptr_t *refcook, uintptr_t *defcook,
                       unsigned *flags, const char *symname)
{
	(void)ndx, (void)refcook, (void)flags;
	return route(sym->st_value, defcook, symname);
}
#else
uintptr_t la_symbind32(Elf32_Sym *sym, unsigned ndx, uintptr_t *refcook, uintptr_t *defcook,
                       unsigned *flags, const char *symname)
{
	(void)ndx, (void)refcook, (void)flags;
	return route(sym->st_value, defcook, symname);
}
#endif
