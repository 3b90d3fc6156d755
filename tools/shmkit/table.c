/* SPDX-License-Identifier: MIT */
/* shmkit(1): the object table. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "table.h"

#define CELL_MAX 320

enum json_type { J_STR, J_NUM, J_STATUS };

struct column {
	const char *name;
	const char *help;
	bool right;
	enum json_type json;
	/* Text of the cell; returns false when the object has no such value (JSON null). */
	bool (*text)(const struct shmkit_obj *o, const struct table_opts *t, char *buf);
	/* The number JSON shows for J_NUM columns. */
	int64_t (*num)(const struct shmkit_obj *o);
};

#define TEXT(fn) static bool fn(const struct shmkit_obj *o, const struct table_opts *t, char *buf)
#define NUM(fn, expr)                                                                              \
	static int64_t fn##_num(const struct shmkit_obj *o)                                        \
	{                                                                                          \
		return (int64_t)(expr);                                                            \
	}                                                                                          \
	TEXT(fn)                                                                                   \
	{                                                                                          \
		snprintf(buf, CELL_MAX, "%" PRId64, fn##_num(o));                                  \
		return true;                                                                       \
	}

TEXT(c_kind)
{
	snprintf(buf, CELL_MAX, "%s", cli_obj_kind(o));
	return true;
}

TEXT(c_key)
{
	snprintf(buf, CELL_MAX, "0x%08x", (uint32_t)o->key);
	return !(o->kind & (SHMKIT_KIND_POSIX | SHMKIT_KIND_CHAN));
}

static int64_t c_id_num(const struct shmkit_obj *o)
{
	return o->id;
}

TEXT(c_id)
{
	snprintf(buf, CELL_MAX, "%d", o->id);
	return !(o->kind & (SHMKIT_KIND_POSIX | SHMKIT_KIND_CHAN));
}

TEXT(c_name)
{
	snprintf(buf, CELL_MAX, "%s", o->kind == SHMKIT_KIND_SHMKIT ? o->ns : o->name);
	return buf[0] != '\0';
}

TEXT(c_ns)
{
	snprintf(buf, CELL_MAX, "%s", o->ns);
	return buf[0] != '\0';
}

TEXT(c_owner)
{
	cli_user_name(o->uid, buf, CELL_MAX);
	return true;
}

TEXT(c_group)
{
	cli_group_name(o->gid, buf, CELL_MAX);
	return true;
}

TEXT(c_cuser)
{
	cli_user_name(o->cuid, buf, CELL_MAX);
	return true;
}

TEXT(c_cgroup)
{
	cli_group_name(o->cgid, buf, CELL_MAX);
	return true;
}

NUM(c_uid, o->uid)
NUM(c_gid, o->gid)
NUM(c_cuid, o->cuid)
NUM(c_cgid, o->cgid)
NUM(c_nattch, o->nattch)

TEXT(c_perms)
{
	if (t->mode == TABLE_JSON)
		snprintf(buf, CELL_MAX, "%04o", o->mode & 0777);
	else
		cli_perms_string(o->mode, buf);
	return true;
}

static int64_t c_size_num(const struct shmkit_obj *o)
{
	return (int64_t)o->size;
}

TEXT(c_size)
{
	if (t->bytes)
		snprintf(buf, CELL_MAX, "%" PRIu64, o->size);
	else
		cli_human_size(o->size, buf, CELL_MAX);
	return true;
}

TEXT(c_status)
{
	cli_status_string(o, ",", buf, CELL_MAX);
	return true;
}

static int64_t c_cpid_num(const struct shmkit_obj *o)
{
	return o->cpid;
}

TEXT(c_cpid)
{
	snprintf(buf, CELL_MAX, "%d", o->cpid);
	return o->cpid > 0;
}

static int64_t c_lpid_num(const struct shmkit_obj *o)
{
	return o->lpid;
}

TEXT(c_lpid)
{
	snprintf(buf, CELL_MAX, "%d", o->lpid);
	return o->lpid > 0;
}

#define TIME_COL(fn, field)                                                                        \
	static int64_t fn##_num(const struct shmkit_obj *o)                                        \
	{                                                                                          \
		return o->field;                                                                   \
	}                                                                                          \
	TEXT(fn)                                                                                   \
	{                                                                                          \
		cli_time_string(o->field, buf, CELL_MAX);                                          \
		return o->field != 0;                                                              \
	}
TIME_COL(c_atime, atime)
TIME_COL(c_dtime, dtime)
TIME_COL(c_ctime, ctime)

/* Figures a report of some objects has (heaps: heap.c, channels: chan.c): bytes are shown
 * like SIZE when human; no value for other objects. */
#define FIGURE_COL(fn, report, type, field, human)                                                 \
	static int64_t fn##_num(const struct shmkit_obj *o)                                        \
	{                                                                                          \
		const type *r = report(o);                                                         \
		return r ? (int64_t)r->field : 0;                                                  \
	}                                                                                          \
	TEXT(fn)                                                                                   \
	{                                                                                          \
		const type *r = report(o);                                                         \
		if (r && human && !t->bytes)                                                       \
			cli_human_size(r->field, buf, CELL_MAX);                                   \
		else if (r)                                                                        \
			snprintf(buf, CELL_MAX, "%" PRIu64, (uint64_t)r->field);                   \
		return r != NULL;                                                                  \
	}
#define HEAP_COL(fn, field, human)                                                                 \
	FIGURE_COL(fn, cli_heap_report, struct shmkit_heap_report, field, human)
#define CHAN_COL(fn, field, human)                                                                 \
	FIGURE_COL(fn, cli_chan_info, struct shmkit_chan_info, field, human)

HEAP_COL(c_used, used, true)
HEAP_COL(c_free, free, true)
HEAP_COL(c_largest, largest_free, true)
HEAP_COL(c_named, named, false)

/* Channels' figures (chan.c); no value for other objects, or a channel that cannot be read. */
TEXT(c_type)
{
	const struct shmkit_chan_info *c = cli_chan_info(o);
	if (c)
		snprintf(buf, CELL_MAX, "%s", cli_chan_type(c->kind));
	return c != NULL;
}

CHAN_COL(c_capacity, capacity, false)
CHAN_COL(c_msgsize, msg_size, true)
CHAN_COL(c_depth, depth, false)
CHAN_COL(c_sent, sent, false)
CHAN_COL(c_abandoned, abandoned, false)
CHAN_COL(c_senders, senders, false)
CHAN_COL(c_receivers, receivers, false)

TEXT(c_command)
{
	snprintf(buf, CELL_MAX, "%s", o->comm);
	return buf[0] != '\0';
}

TEXT(c_backing)
{
	if (o->kind == SHMKIT_KIND_SYSV)
		snprintf(buf, CELL_MAX, "/SYSV%08x", (uint32_t)o->key);
	else
		snprintf(buf, CELL_MAX, "%s", o->backing);
	return buf[0] != '\0';
}

static const struct column columns[] = {
    {"KIND", "sysv, posix, shmkit, heap or chan", false, J_STR, c_kind, NULL},
    {"KEY", "System V key", false, J_STR, c_key, NULL},
    {"ID", "System V id", true, J_NUM, c_id, c_id_num},
    {"NAME", "POSIX or channel name, or the shmkit namespace", false, J_STR, c_name, NULL},
    {"NS", "shmkit namespace", false, J_STR, c_ns, NULL},
    {"OWNER", "owner's user name", false, J_STR, c_owner, NULL},
    {"UID", "owner's uid", true, J_NUM, c_uid, c_uid_num},
    {"GROUP", "group name", false, J_STR, c_group, NULL},
    {"GID", "gid", true, J_NUM, c_gid, c_gid_num},
    {"CUSER", "creator's user name", false, J_STR, c_cuser, NULL},
    {"CUID", "creator's uid", true, J_NUM, c_cuid, c_cuid_num},
    {"CGROUP", "creator's group name", false, J_STR, c_cgroup, NULL},
    {"CGID", "creator's gid", true, J_NUM, c_cgid, c_cgid_num},
    {"PERMS", "permissions (rwx; octal in JSON)", false, J_STR, c_perms, NULL},
    {"SIZE", "size (bytes with --bytes and in JSON)", true, J_NUM, c_size, c_size_num},
    {"USED", "heaps: bytes allocated", true, J_NUM, c_used, c_used_num},
    {"FREE", "heaps: bytes free", true, J_NUM, c_free, c_free_num},
    {"LARGEST", "heaps: the largest free block", true, J_NUM, c_largest, c_largest_num},
    {"NAMED", "heaps: named objects", true, J_NUM, c_named, c_named_num},
    {"TYPE", "channels: spsc, mpmc or broadcast", false, J_STR, c_type, NULL},
    {"CAPACITY", "channels: messages the ring holds", true, J_NUM, c_capacity, c_capacity_num},
    {"MSGSIZE", "channels: the largest message", true, J_NUM, c_msgsize, c_msgsize_num},
    {"DEPTH", "channels: messages queued (broadcast: in the ring)", true, J_NUM, c_depth,
     c_depth_num},
    {"SENT", "channels: messages sent since creation", true, J_NUM, c_sent, c_sent_num},
    {"ABANDONED", "channels: slots whose sender died half-way", true, J_NUM, c_abandoned,
     c_abandoned_num},
    {"SENDERS", "channels: live senders", true, J_NUM, c_senders, c_senders_num},
    {"RECEIVERS", "channels: live receivers", true, J_NUM, c_receivers, c_receivers_num},
    {"NATTCH", "attached processes (channels: live senders and receivers)", true, J_NUM, c_nattch,
     c_nattch_num},
    {"STATUS", "dest, locked, orphaned; channels: damaged, noaccess, incomplete", false, J_STATUS,
     c_status, NULL},
    {"CPID", "creator's pid", true, J_NUM, c_cpid, c_cpid_num},
    {"LPID", "pid of the last attach/detach", true, J_NUM, c_lpid, c_lpid_num},
    {"ATIME", "last attach (POSIX: access)", false, J_NUM, c_atime, c_atime_num},
    {"DTIME", "last detach", false, J_NUM, c_dtime, c_dtime_num},
    {"CTIME", "last change (channels: creation)", false, J_NUM, c_ctime, c_ctime_num},
    {"COMMAND", "creator's command line, while it runs", false, J_STR, c_command, NULL},
    {"BACKING", "backing object", false, J_STR, c_backing, NULL},
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))
_Static_assert(NCOLUMNS <= TABLE_MAX_COLUMNS, "every column fits in one table");

int table_parse_columns(const char *list, struct table_opts *o)
{
	o->ncols = 0;
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, ",");
		size_t i;
		for (i = 0; i < NCOLUMNS; i++)
			if (strlen(columns[i].name) == n && !strncasecmp(p, columns[i].name, n))
				break;
		if (i == NCOLUMNS || o->ncols == TABLE_MAX_COLUMNS)
			return -EINVAL;
		o->cols[o->ncols++] = (int)i;
		p += n;
		if (*p == ',' && !*++p)
			return -EINVAL;
	}
	return o->ncols ? 0 : -EINVAL;
}

void table_all_columns(struct table_opts *o)
{
	o->ncols = 0;
	for (size_t i = 0; i < NCOLUMNS && o->ncols < TABLE_MAX_COLUMNS; i++)
		o->cols[o->ncols++] = (int)i;
}

void table_print_columns(FILE *f)
{
	for (size_t i = 0; i < NCOLUMNS; i++)
		fprintf(f, "  %-8s %s\n", columns[i].name, columns[i].help);
}

/* Raw cells are separated by spaces: escape them (and control bytes) like libsmartcols. */
static void put_raw(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= ' ' || *p == '\\' || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

static void lower(char *dst, const char *src)
{
	while ((*dst++ = (char)(*src >= 'A' && *src <= 'Z' ? *src + 32 : *src)))
		src++;
}

void table_json_members(FILE *f, const struct table_opts *t, const struct shmkit_obj *o)
{
	char buf[CELL_MAX], key[16];
	for (size_t c = 0; c < t->ncols; c++) {
		const struct column *col = &columns[t->cols[c]];
		lower(key, col->name);
		fprintf(f, "%s\"%s\": ", c ? ", " : "", key);
		bool has = col->text(o, t, buf);
		if (!has && col->json != J_STATUS)
			fprintf(f, "null");
		else if (col->json == J_NUM)
			fprintf(f, "%" PRId64, col->num(o));
		else if (col->json == J_STR)
			cli_json_string(f, buf);
		else {
			fputc('[', f);
			for (const char *w = buf; *w;) {
				size_t k = strcspn(w, ",");
				fprintf(f, "%s\"%.*s\"", w == buf ? "" : ", ", (int)k, w);
				w += k + (w[k] == ',');
			}
			fputc(']', f);
		}
	}
}

static void print_json(FILE *f, const struct table_opts *t, const struct shmkit_obj *v, size_t n)
{
	fprintf(f, "{\n   \"sharedmemory\": [");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s\n      {", i ? "," : "");
		table_json_members(f, t, &v[i]);
		fputc('}', f);
	}
	fprintf(f, "%s]\n}\n", n ? "\n   " : "");
}

static void print_text(FILE *f, const struct table_opts *t, const struct shmkit_obj *v, size_t n)
{
	size_t width[TABLE_MAX_COLUMNS];
	char buf[CELL_MAX];
	for (size_t c = 0; c < t->ncols; c++)
		width[c] = t->noheadings ? 1 : strlen(columns[t->cols[c]].name);
	if (t->mode == TABLE_ALIGNED)
		for (size_t i = 0; i < n; i++)
			for (size_t c = 0; c < t->ncols; c++) {
				if (!columns[t->cols[c]].text(&v[i], t, buf))
					strcpy(buf, "-");
				if (strlen(buf) > width[c])
					width[c] = strlen(buf);
			}
	for (size_t i = t->noheadings ? 1 : 0; i <= n; i++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const struct column *col = &columns[t->cols[c]];
			if (i == 0)
				snprintf(buf, sizeof(buf), "%s", col->name);
			else if (!col->text(&v[i - 1], t, buf) || !buf[0])
				strcpy(buf, "-");
			bool last = c + 1 == t->ncols;
			if (t->mode == TABLE_RAW) {
				put_raw(f, buf);
				fputs(last ? "\n" : " ", f);
			} else if (last && !col->right) {
				fprintf(f, "%s\n", buf); /* no trailing blanks */
			} else if (last) {
				fprintf(f, "%*s\n", (int)width[c], buf);
			} else {
				fprintf(f, col->right ? "%*s " : "%-*s ", (int)width[c], buf);
			}
		}
	}
}

void table_print(FILE *f, const struct table_opts *t, const struct shmkit_obj *v, size_t n)
{
	if (t->mode == TABLE_JSON)
		print_json(f, t, v, n);
	else
		print_text(f, t, v, n);
}
