/* SPDX-License-Identifier: MIT */
/* shmkit(1): the object table of ls and watch (aligned, raw or JSON). */
#ifndef SHMKIT_CLI_TABLE_H
#define SHMKIT_CLI_TABLE_H

#include "cli.h"

enum table_mode { TABLE_ALIGNED, TABLE_RAW, TABLE_JSON };

#define TABLE_MAX_COLUMNS 48
struct table_opts {
	enum table_mode mode;
	bool noheadings;
	bool bytes;
	size_t ncols;
	int cols[TABLE_MAX_COLUMNS];
};

/* Comma-separated column names (case-insensitive) into o->cols; -EINVAL for an unknown one. */
int table_parse_columns(const char *list, struct table_opts *o);
void table_print_columns(FILE *f);
/* Every column, in the order of table_print_columns(). */
void table_all_columns(struct table_opts *o);
/* One object's JSON members ("name": value, ...) for the columns of o, without braces. */
void table_json_members(FILE *f, const struct table_opts *t, const struct shmkit_obj *obj);
void table_print(FILE *f, const struct table_opts *o, const struct shmkit_obj *v, size_t n);

#endif
