/*
 * CSV cells and rows as RFC 4180 writes them, for the exports of the
 * listings (export.c): a cell holding a comma, a double quote, CR or LF is
 * quoted, with its quotes doubled; rows end in CRLF. A text cell that
 * starts with '=', '+', '-', '@', TAB or CR is prefixed with a single quote
 * (and so quoted), so that a spreadsheet shows it as text rather than
 * running it as a formula (OWASP's "CSV injection"); docs/api.md says so.
 */
#ifndef CSV_H
#define CSV_H

#include <jansson.h>

#include "buf.h"

/* Appends one text cell (NULL: empty), with the separator before it
 * unless first. */
void csv_cell(struct buf *out, const char *text, int first);

/* Appends the cells of row named by cols (NULL-terminated) and the CRLF:
 * strings as text, integers and reals as numbers, null and absent keys
 * empty, anything else as its compact JSON. */
void csv_row(struct buf *out, const json_t *row, const char *const *cols);

/* Appends the header row of cols. */
void csv_header(struct buf *out, const char *const *cols);

#endif
