/*
 * tabwriter.c — Go's text/tabwriter with padchar ' ' and no flags, the way
 * Docker's tables use it (NewWriter(out, minwidth, tabwidth, padding, ' ', 0)).
 *
 * Text is buffered until tabwriter_flush. A cell is text terminated by '\t';
 * the last piece of a line (not tab-terminated) is not a cell of any column
 * and never affects widths. A column block is a run of consecutive lines that
 * all have a cell in that column; its width is the widest cell (in UTF-8
 * characters) plus padding, at least minwidth. Blocks are found recursively,
 * left to right, exactly as Go's Writer.format does, so a line with fewer
 * cells ends the blocks of the columns it lacks. With a space pad
 * character the tabwidth is not used (Go uses it only when padding with tabs).
 */
#include "cli/template.h"

struct tabwriter {
  int minwidth, tabwidth, padding;
  char *buf;
  size_t len, cap;
};

struct cell {
  const char *text;
  size_t size;  /* bytes */
  size_t width; /* characters */
};

struct line {
  struct cell *cells; /* into the one array of all cells (split_lines) */
  size_t n;
};

struct tw_out {
  char *s;
  size_t len, cap;
};

static void out_reserve(struct tw_out *o, size_t n) {
  if (o->len + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 256;
    while (cap < o->len + n + 1)
      cap *= 2;
    o->s = xrealloc(o->s, cap);
    o->cap = cap;
  }
}

static void out_putn(struct tw_out *o, const char *p, size_t n) {
  out_reserve(o, n);
  memcpy(o->s + o->len, p, n);
  o->len += n;
  o->s[o->len] = '\0';
}

static void out_pad(struct tw_out *o, size_t n) {
  out_reserve(o, n);
  memset(o->s + o->len, ' ', n);
  o->len += n;
  o->s[o->len] = '\0';
}

struct tabwriter *tabwriter_new(int minwidth, int tabwidth, int padding) {
  struct tabwriter *tw = xcalloc(1, sizeof *tw);
  tw->minwidth = minwidth < 0 ? 0 : minwidth;
  tw->tabwidth = tabwidth;
  tw->padding = padding < 0 ? 0 : padding;
  return tw;
}

void tabwriter_write(struct tabwriter *tw, const char *text) {
  size_t n = text ? strlen(text) : 0;
  if (tw->len + n + 1 > tw->cap) {
    size_t cap = tw->cap ? tw->cap * 2 : 1024;
    while (cap < tw->len + n + 1)
      cap *= 2;
    tw->buf = xrealloc(tw->buf, cap);
    tw->cap = cap;
  }
  memcpy(tw->buf + tw->len, text, n);
  tw->len += n;
  tw->buf[tw->len] = '\0';
}

static size_t utf8_width(const char *s, size_t n) {
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80)
      w++;
  return w;
}

/* Split the buffer into lines of cells, all cells in one array (*cells,
 * freed by the caller). The text after the last '\n' (if any) is a final
 * line written without a newline. */
static struct line *split_lines(const char *buf, size_t len, size_t *nlines, struct cell **cells) {
  size_t nl = 0, nc = 0;
  for (size_t i = 0; i < len; i++) {
    nl += buf[i] == '\n';
    nc += buf[i] == '\t' || buf[i] == '\n';
  }
  nl++; /* an unterminated last line */
  nc++;
  struct line *lines = xcalloc(nl, sizeof *lines);
  struct cell *c = *cells = xcalloc(nc, sizeof *c);
  size_t n = 0;
  size_t i = 0;
  while (i < len) {
    struct line *l = &lines[n++];
    l->cells = c;
    size_t start = i;
    for (;; i++) {
      if (i == len || buf[i] == '\t' || buf[i] == '\n') {
        *c++ = (struct cell){buf + start, i - start, utf8_width(buf + start, i - start)};
        l->n++;
        start = i + 1;
        if (i == len || buf[i] == '\n') {
          if (i < len)
            i++;
          break;
        }
      }
    }
  }
  *nlines = n;
  return lines;
}

struct fmt_state {
  const struct tabwriter *tw;
  struct line *lines;
  size_t nlines;
  bool last_open; /* the last line has no '\n' */
  size_t *widths;
  size_t nwidths;
  struct tw_out out;
};

static void write_lines(struct fmt_state *f, size_t line0, size_t line1) {
  for (size_t i = line0; i < line1; i++) {
    const struct line *l = &f->lines[i];
    for (size_t j = 0; j < l->n; j++) {
      const struct cell *c = &l->cells[j];
      out_putn(&f->out, c->text, c->size);
      if (j < f->nwidths && j + 1 < l->n && f->widths[j] > c->width)
        out_pad(&f->out, f->widths[j] - c->width);
    }
    if (i + 1 < f->nlines || !f->last_open)
      out_putn(&f->out, "\n", 1);
  }
}

/* Go's Writer.format: lay out column `nwidths` for lines [line0, line1). */
static void format_cols(struct fmt_state *f, size_t line0, size_t line1) {
  size_t column = f->nwidths;
  for (size_t t = line0; t < line1; t++) {
    if (column + 1 >= f->lines[t].n)
      continue;
    /* a cell exists in this column: print the lines before the block */
    write_lines(f, line0, t);
    line0 = t;
    size_t width = (size_t)f->tw->minwidth;
    for (; t < line1; t++) {
      const struct line *l = &f->lines[t];
      if (column + 1 >= l->n)
        break;
      size_t w = l->cells[column].width + (size_t)f->tw->padding;
      if (w > width)
        width = w;
    }
    f->widths = xrealloc(f->widths, (f->nwidths + 1) * sizeof *f->widths);
    f->widths[f->nwidths++] = width;
    format_cols(f, line0, t);
    f->nwidths--;
    line0 = t;
    if (t >= line1)
      break;
    t--; /* the loop's t++ must revisit the line that ended the block */
  }
  write_lines(f, line0, line1);
}

char *tabwriter_flush(struct tabwriter *tw) {
  struct fmt_state f = {.tw = tw};
  struct cell *cells = NULL;
  f.lines = split_lines(tw->buf ? tw->buf : "", tw->len, &f.nlines, &cells);
  f.last_open = tw->len > 0 && tw->buf[tw->len - 1] != '\n';
  out_reserve(&f.out, tw->len + tw->len / 2); /* text plus padding, usually */
  f.out.s[0] = '\0';
  format_cols(&f, 0, f.nlines);
  free(cells);
  free(f.lines);
  free(f.widths);
  tw->len = 0;
  if (tw->buf)
    tw->buf[0] = '\0';
  return f.out.s ? f.out.s : xstrdup("");
}

void tabwriter_free(struct tabwriter *tw) {
  if (!tw)
    return;
  free(tw->buf);
  free(tw);
}
