/*
 * test_tabwriter.c — Go's text/tabwriter layout (src/cli/tabwriter.c):
 * column blocks, minwidth, padding, cells counted in characters, lines that
 * break blocks, the unterminated last cell. Expected outputs are worked out
 * by hand from Go's Writer.format algorithm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/template.h"

static char *layout(int minwidth, int padding, const char *text) {
  struct tabwriter *tw = tabwriter_new(minwidth, 1, padding);
  tabwriter_write(tw, text);
  char *out = tabwriter_flush(tw);
  tabwriter_free(tw);
  return out;
}

#define CHECK(mw, pad, text, want)                                                                                     \
  do {                                                                                                                 \
    char *_o = layout(mw, pad, text);                                                                                  \
    assert_string_equal(_o, want);                                                                                     \
    free(_o);                                                                                                          \
  } while (0)

/* Docker's tables: NewWriter(out, 10, 1, 3, ' ', 0) */
static void test_docker_minwidth(void **st) {
  CHECK(10, 3, "a\tb\tc\naaa\tbbbb\tc\n", "a         b         c\naaa       bbbb      c\n");
}

static void test_simple_columns(void **st) { CHECK(0, 1, "a\tb\nccc\td\n", "a   b\nccc d\n"); }

static void test_wide_cell(void **st) { CHECK(5, 3, "abcdefgh\tx\nab\ty\n", "abcdefgh   x\nab         y\n"); }

static void test_block_broken_by_plain_line(void **st) {
  CHECK(0, 1, "a\tb\nxxxxxxxxxxxx\nccc\td\n", "a b\nxxxxxxxxxxxx\nccc d\n");
}

static void test_trailing_tab(void **st) { CHECK(0, 1, "a\t\nbb\t\n", "a  \nbb \n"); }

static void test_utf8_width(void **st) { CHECK(0, 1, "\xc3\xa9\tx\nab\ty\n", "\xc3\xa9  x\nab y\n"); }

static void test_no_final_newline(void **st) { CHECK(0, 1, "a\tb\ncc\td", "a  b\ncc d"); }

static void test_uneven_columns(void **st) {
  /* the second column's block covers only the first line */
  CHECK(0, 1, "a\tbbbb\tc\nd\te\n", "a bbbb c\nd e\n");
  CHECK(0, 1, "a\tb\nd\teeee\tf\ng\th\ti\n", "a b\nd eeee f\ng h    i\n");
}

static void test_empty_line_breaks_block(void **st) { CHECK(0, 1, "aaaa\tb\n\nc\td\n", "aaaa b\n\nc d\n"); }

static void test_empty_cells(void **st) { CHECK(0, 1, "\tx\n\ty\n", " x\n y\n"); }

static void test_empty_input(void **st) { CHECK(10, 3, "", ""); }

static void test_docker_table(void **st) {
  CHECK(10, 3,
        "CONTAINER ID\tIMAGE\tCOMMAND\tNAMES\n"
        "0123456789ab\tbusybox\t\"sh\"\tweb\n"
        "ba9876543210\tnginx:latest\t\"nginx -g\"\tproxy\n",
        "CONTAINER ID   IMAGE          COMMAND      NAMES\n"
        "0123456789ab   busybox        \"sh\"         web\n"
        "ba9876543210   nginx:latest   \"nginx -g\"   proxy\n");
}

static void test_multiple_writes_and_reuse(void **st) {
  struct tabwriter *tw = tabwriter_new(0, 1, 2);
  tabwriter_write(tw, "a\t");
  tabwriter_write(tw, "b\nlong");
  tabwriter_write(tw, "er\tc\n");
  char *out = tabwriter_flush(tw);
  assert_string_equal(out, "a       b\nlonger  c\n");
  free(out);
  tabwriter_write(tw, "x\ty\n");
  out = tabwriter_flush(tw);
  assert_string_equal(out, "x  y\n");
  free(out);
  out = tabwriter_flush(tw);
  assert_string_equal(out, "");
  free(out);
  tabwriter_free(tw);
}

static void test_minwidth_20(void **st) { CHECK(20, 1, "a\tb\n", "a                   b\n"); }

static void test_template_then_table(void **st) {
  /* the CLI's path: header line + rows through one writer */
  struct tmpl *t = NULL;
  struct berr *err = NULL;
  const char *fmt = "{{.ID}}\t{{.Name}}";
  assert_int_equal(tmpl_parse(fmt, &t, &err), 0);
  struct tabwriter *tw = tabwriter_new(10, 1, 3);
  char *h = tmpl_header_line(fmt, NULL);
  tabwriter_write(tw, h);
  tabwriter_write(tw, "\n");
  free(h);
  const char *rows[] = {"{\"ID\":\"abc\",\"Name\":\"first\"}", "{\"ID\":\"abcdefghijkl\",\"Name\":\"x\"}"};
  for (size_t i = 0; i < 2; i++) {
    json_t *d = json_loads(rows[i], 0, NULL);
    char *line = NULL;
    assert_int_equal(tmpl_exec(t, d, &line, &err), 0);
    tabwriter_write(tw, line);
    tabwriter_write(tw, "\n");
    free(line);
    json_decref(d);
  }
  char *out = tabwriter_flush(tw);
  assert_string_equal(out, "ID             NAME\nabc            first\nabcdefghijkl   x\n");
  free(out);
  tabwriter_free(tw);
  tmpl_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docker_minwidth),
      cmocka_unit_test(test_simple_columns),
      cmocka_unit_test(test_wide_cell),
      cmocka_unit_test(test_block_broken_by_plain_line),
      cmocka_unit_test(test_trailing_tab),
      cmocka_unit_test(test_utf8_width),
      cmocka_unit_test(test_no_final_newline),
      cmocka_unit_test(test_uneven_columns),
      cmocka_unit_test(test_empty_line_breaks_block),
      cmocka_unit_test(test_empty_cells),
      cmocka_unit_test(test_empty_input),
      cmocka_unit_test(test_docker_table),
      cmocka_unit_test(test_multiple_writes_and_reuse),
      cmocka_unit_test(test_minwidth_20),
      cmocka_unit_test(test_template_then_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
