/*
 * RFC 4180 cells and rows, with spreadsheet formulas defused (see csv.h).
 */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

void csv_cell(struct buf *out, const char *text, int first)
{
	int formula, quote;

	if (!first)
		buf_addch(out, ',');
	if (!text || !*text)
		return;
	formula = strchr("=+-@\t\r", text[0]) != NULL;
	quote = formula || strpbrk(text, ",\"\r\n") != NULL;
	if (quote)
		buf_addch(out, '"');
	if (formula)
		buf_addch(out, '\'');
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			buf_addch(out, '"');
		buf_addch(out, *p);
	}
	if (quote)
		buf_addch(out, '"');
}

void csv_row(struct buf *out, const json_t *row, const char *const *cols)
{
	char num[40];

	for (size_t i = 0; cols[i]; i++) {
		const json_t *v = json_object_get(row, cols[i]);
		char *dump;

		if (json_is_string(v)) {
			csv_cell(out, json_string_value(v), i == 0);
		} else if (json_is_integer(v)) {
			/* A number is written as such: never a formula. */
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			if (i)
				buf_addch(out, ',');
			buf_adds(out, num);
		} else if (json_is_real(v)) {
			snprintf(num, sizeof(num), "%.17g", json_real_value(v));
			if (i)
				buf_addch(out, ',');
			buf_adds(out, num);
		} else if (!v || json_is_null(v)) {
			csv_cell(out, NULL, i == 0);
		} else {
			dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			csv_cell(out, dump, i == 0);
			free(dump);
		}
	}
	buf_adds(out, "\r\n");
}

void csv_header(struct buf *out, const char *const *cols)
{
	for (size_t i = 0; cols[i]; i++)
		csv_cell(out, cols[i], i == 0);
	buf_adds(out, "\r\n");
}
