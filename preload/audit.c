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
 * An auditor lives in a link map of its own, and may not call into the dynamic linker while
 * it binds (dlsym there crashes it): the interposer's definitions are read from its own
 * dynamic symbol table (GNU hash), which it finds through the link map seen in la_objopen.
 */
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

static struct link_map *interposer;

static const char *const routed[] = {"shmget", "shmat", "shmdt", "shmctl", "__shmctl64"};
#define NROUTED (sizeof(routed) / sizeof(routed[0]))
static uintptr_t ours[NROUTED];

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

/* A dynamic entry's address: relocated by the dynamic linker already, or not yet. */
static uintptr_t dyn_addr(const struct link_map *m, ElfW(Addr) v)
{
	return v < m->l_addr ? m->l_addr + v : v;
}

/* The address of the interposer's definition of name, from its GNU hash table; 0 if none. */
static uintptr_t lookup(const struct link_map *m, const char *name)
{
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const uint32_t *gh = NULL;
	for (const ElfW(Dyn) *d = m->l_ld; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMTAB)
			symtab = (const void *)dyn_addr(m, d->d_un.d_ptr);
		else if (d->d_tag == DT_STRTAB)
			strtab = (const void *)dyn_addr(m, d->d_un.d_ptr);
		else if (d->d_tag == DT_GNU_HASH)
			gh = (const void *)dyn_addr(m, d->d_un.d_ptr);
	}
	if (!symtab || !strtab || !gh || !gh[0])
		return 0;
	uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_size = gh[2];
	const ElfW(Addr) *bloom = (const void *)&gh[4];
	const uint32_t *buckets = (const void *)&bloom[bloom_size];
	const uint32_t *chain = &buckets[nbuckets];
	uint32_t h = 5381;
	for (const unsigned char *c = (const void *)name; *c; c++)
		h = h * 33 + *c;
	uint32_t i = buckets[h % nbuckets];
	if (i < symoffset)
		return 0;
	for (;; i++) {
		uint32_t hash = chain[i - symoffset];
		if ((h | 1) == (hash | 1) && !strcmp(name, strtab + symtab[i].st_name))
			return symtab[i].st_value ? m->l_addr + symtab[i].st_value : 0;
		if (hash & 1)
			return 0;
	}
}

static uintptr_t route(uintptr_t value, uintptr_t *defcook, const char *name)
{
	if (!interposer || !name || *defcook == (uintptr_t)interposer)
		return value;
	for (size_t i = 0; i < NROUTED; i++) {
		if (strcmp(name, routed[i]))
			continue;
		if (!ours[i])
			ours[i] = lookup(interposer, name);
		return ours[i] ? ours[i] : value;
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
